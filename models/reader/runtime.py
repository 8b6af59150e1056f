"""The reader at question time: how well each sentence answers the question, one logit per sentence.

ONNX Runtime runs the int8 encoder of the serving folder (built by ``make install``); the token
vectors are mean-pooled and the head (385 numbers) gives the logit. Pairs are read in batches of
similar length (a batch is padded to its longest pair). One :class:`Reader` serves every thread:
ONNX Runtime's ``run`` and the tokenizer are safe to call concurrently.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import IndexProblem
from models.encoders import SharedTokenizer, cpu_cores
from models.onnx_pipeline import session_options
from models.reader.fusion import sigmoid
from models.reader.recipe import SERVING_DIR, SERVING_MANIFEST, SERVING_MODEL, configure, pair, tokenizer

if TYPE_CHECKING:
    from core.settings import Settings

# Pairs per forward pass. One: dynamic int8 quantises each pass's activations with one scale, so in a batch a
# sentence's logit moved with its company (by up to 0.7 with U8S8); alone, a sentence always reads the same.
# It costs little, as a question reads 2-4 sentences (44 against 38 ms for 3 on the 2-core machine).
BATCH = 1
# Each forward pass runs on one core, and a question's pairs run side by side on ``threads`` cores: a pair of
# 40-60 tokens is too small to split across cores (one thread 11.5 ms a pair, two 12.8 ms), and two pairs at once
# take 5.6 ms a pair (120 XQuAD train pairs, 2-core machine, the same logits to the last bit).
PASS_THREADS = 1
BUILD_HINT = "run `make install` (or `.venv/bin/python -m models.reader.build`) to build it from the committed weights"


class ReaderUnavailable(IndexProblem):
    """The reader's serving folder is missing or broken; the message says what to do."""


class Reader:
    """``score(question, sentences)``: one logit per sentence (higher: more likely to hold the answer);
    ``probability`` is its sigmoid. ``sentences`` are read as text.inputs.sentence_input builds them
    (the first words of the article title, a newline, the sentence)."""

    def __init__(self, folder: Path | str = SERVING_DIR, threads: int | None = None, batch_size: int = BATCH,
                 shared: SharedTokenizer | None = None):
        self.folder = Path(folder)
        missing = [name for name in (SERVING_MODEL, "tokenizer.json", SERVING_MANIFEST)
                   if not (self.folder / name).is_file()]
        if missing:
            raise ReaderUnavailable(f"the reader's serving folder {self.folder} lacks {missing[0]}: {BUILD_HINT}")
        try:
            self.manifest = json.loads((self.folder / SERVING_MANIFEST).read_text())
            head = self.manifest["head"]
            self.weight = np.asarray(head["weight"], dtype=np.float32)
            self.bias = np.float32(head["bias"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReaderUnavailable(f"{self.folder / SERVING_MANIFEST} is damaged ({exc}): {BUILD_HINT}") from None
        self.batch_size = batch_size
        self.threads = threads or cpu_cores()
        # The encoder's tokenizer when it is the same file (280 MB saved), else one of its own.
        if shared is not None and _same_file(shared.file, self.folder / "tokenizer.json"):
            self.tokenizer, self._tokenizer_lock = shared.tokenizer, shared.lock
        else:
            self.tokenizer, self._tokenizer_lock = tokenizer(self.folder), threading.Lock()
        self.session = self._session()
        self.inputs = {i.name for i in self.session.get_inputs()}

    def _session(self):
        import onnxruntime as ort

        options = session_options(PASS_THREADS)  # the cores serve several pairs at once (score)
        try:
            return ort.InferenceSession(str(self.folder / SERVING_MODEL), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ReaderUnavailable(f"cannot load {self.folder / SERVING_MODEL} ({type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0] if str(exc) else ''}); {BUILD_HINT}") from exc

    @property
    def fusion(self) -> dict | None:
        """The fused ranking and the calibration fitted for this reader (weights/fusion.json), if any."""
        return self.manifest.get("fusion")

    def score(self, question: str, sentences: list[str]) -> np.ndarray:
        """One logit per sentence, in the order given (float32)."""
        out = np.zeros(len(sentences), dtype=np.float32)
        if not sentences:
            return out
        pairs = [pair(question, s) for s in sentences]
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][1]))
        batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        if len(batches) > 1 and self.threads > 1:
            logits = list(self._pool.map(lambda rows: self._logits([pairs[i] for i in rows]), batches))
        else:
            logits = [self._logits([pairs[i] for i in rows]) for rows in batches]
        for rows, values in zip(batches, logits, strict=True):
            out[rows] = values
        return out

    @cached_property
    def _pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="reader")

    def probability(self, question: str, sentences: list[str]) -> np.ndarray:
        return sigmoid(self.score(question, sentences))

    def _logits(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        with self._tokenizer_lock:  # a shared tokenizer may have been set for the encoder meanwhile
            encoded = configure(self.tokenizer).encode_batch(pairs)
        ids = np.asarray([e.ids for e in encoded], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0]  # (rows, tokens, 384): last_hidden_state
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.maximum(weights.sum(1), 1.0)
        return pooled @ self.weight + self.bias



_LOADED: dict[tuple[str, str], Reader] = {}
_LOADING = threading.Lock()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def load_reader(settings: Settings, encoder=None) -> Reader | None:
    """The reader the settings ask for (None with ``FUNDSTELLE_READER=off``), loaded once per process and
    folder: every engine of a process (tests, the CLI) shares it, as they share the encoder. It tokenises with
    ``encoder``'s tokenizer (SharedTokenizer) when that is the same file, instead of a copy of its own."""
    if settings.reader == "off":
        return None
    key = (str(Path(settings.reader_dir).resolve()), str(settings.encoder_threads))
    with _LOADING:
        if key not in _LOADED:
            lend = getattr(encoder, "shared_tokenizer", None)  # a stand-in encoder (benchmarks) has none
            _LOADED[key] = Reader(settings.reader_dir, threads=settings.encoder_threads,
                                  shared=lend() if lend is not None else None)
        return _LOADED[key]
