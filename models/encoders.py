"""Sentence encoders: one sentence-transformers model folder, several inference backends.

The model folder built by ``models/build_e5.py`` holds the torch weights; ``models/export.py``
(run by ``make install``) adds ONNX (fp32, dynamic int8) and OpenVINO variants next to them,
so one folder holds every variant and nothing is ever downloaded. :func:`load_encoder` picks
the variant named by ``settings.encoder`` (``FUNDSTELLE_ENCODER``); ``auto`` (the default) takes the one an
existing index was built with (``onnx-int8`` for a new one) and, on a CPU with AMX, hands bulk indexing to
OpenVINO in bf16 (:func:`bulk_variant`, :data:`BULK_TEXTS`).

Every variant returns L2-normalised float32 rows, queries and passages with the model's prompts.
:meth:`SentenceEncoder.encode_passages_with_sentences` also returns one vector per sentence of each
passage, computed at index time so a question never waits for sentence embeddings:

- ``"late"`` (late chunking): mean-pool the passage's own token embeddings over each sentence's
  tokens, from the same forward pass as the passage vector; costs nothing extra (every variant: the lean
  pipelines pool ONNX Runtime's or OpenVINO's token vectors, the others sentence-transformers').
- ``"separate"``: embed each sentence on its own (as the query-time highlighter does); a second
  forward pass over all sentences.
- ``"pooled"``: embed the sentences only; a passage's vector is the length-weighted mean of its sentences'
  (one pass, but dense retrieval loses: BENCHMARKS.md, "Sentence vectors").

The fingerprint tells variants apart whenever their vectors differ (backend + the exported
file's digest), and the torch variant keeps the fingerprint the old ``indexer.embedding.Embedder``
gave the same folder before anything was exported into it, so existing indexes stay valid.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from core.errors import IndexProblem
from models.onnx_pipeline import (
    NORMALIZE,
    POOLING,
    POOLING_MODES,
    TRANSFORMER,
    LeanPipeline,
    OnnxPipeline,
    lean_pipeline_fits,
    mean_pooled,
    session_options,
)

if TYPE_CHECKING:
    from core.settings import Settings

# Nothing in this process may reach a model hub; set before huggingface_hub reads it at import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Batching by tokens: ``batch_size`` passages of about this many tokens make one forward pass's budget
# (32 x 128 = 4,096 tokens with padding); short texts (sentences) fill it with many more, up to MAX_BATCH.
TYPICAL_PASSAGE_TOKENS = 128
MAX_BATCH = 256
PROBE_BYTES = 1 << 20  # weight files: hash size, head and tail (fast; any re-export changes them)
EXPORT_DIRS = ("onnx", "openvino")  # where models/export.py writes; not part of the torch weights
SentenceMethod = Literal["late", "separate", "pooled"]
EXPORT_HINT = "run `make install` (or `.venv/bin/python -m models.export FOLDER` for the exports)"


@dataclass(frozen=True)
class SharedTokenizer:
    """An encoder's tokenizer, lent to the reader (which reads with the same tokenizer.json): one copy of e5's
    250,000-piece tokenizer holds 280 MB, so a second one for the reader cost the service that much. A
    tokenizers.Tokenizer carries its truncation and padding as state, so every user sets its own and
    tokenises while holding ``lock``."""

    tokenizer: object  # tokenizers.Tokenizer
    lock: threading.Lock
    file: Path  # the tokenizer.json it was loaded from


class EncoderUnavailable(IndexProblem):
    """The configured model folder or backend file cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Variant:
    """One way to run the model: a sentence-transformers backend and the file it loads."""

    backend: Literal["torch", "onnx", "openvino"]
    file: str | None = None  # relative to the model folder; None: the torch weights
    note: str = ""
    # The runtime that runs it without sentence-transformers (models/onnx_pipeline.py), where the folder
    # declares the plain pipeline; None: sentence-transformers runs it.
    lean: Literal["onnx", "openvino"] | None = None
    # sentence-transformers cannot run it (its OpenVINO backend needs optimum-intel, which is not installed)
    lean_only: bool = False


VARIANTS: dict[str, Variant] = {
    "torch": Variant("torch", None, "fp32 PyTorch"),
    "onnx": Variant("onnx", "onnx/model.onnx", "fp32 ONNX Runtime", lean="onnx"),
    "onnx-int8": Variant("onnx", "onnx/model_qint8_avx512_vnni.onnx",
                         "ONNX Runtime, dynamic int8 (U8S8, per-channel; optimum 'avx512_vnni' config)", lean="onnx"),
    "onnx-int8-avx2": Variant("onnx", "onnx/model_quint8_avx2.onnx",
                              "ONNX Runtime, dynamic int8 (U8U8, per-channel; optimum 'avx2' config)", lean="onnx"),
    "openvino-bf16": Variant("openvino", "openvino/model_fp16.xml",
                             "OpenVINO, fp16 weights, computing in bf16 where the CPU has it (else fp32)",
                             lean="openvino", lean_only=True),
    "openvino": Variant("openvino", "openvino/openvino_model.xml", "fp32 OpenVINO (converted from the ONNX file)"),
    "openvino-int8": Variant("openvino", "openvino/openvino_model_qint8_static.xml",
                             "OpenVINO, static int8 (NNCF, calibrated on the bundled corpus)"),
}


def cpu_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _file_probe(path: Path, digest) -> None:
    size = path.stat().st_size
    digest.update(f"{size}".encode())
    with path.open("rb") as fh:
        digest.update(fh.read(PROBE_BYTES))
        fh.seek(max(0, size - PROBE_BYTES))
        digest.update(fh.read(PROBE_BYTES))


def base_digest(folder: Path) -> str:
    """Digest of the model folder without its exports: the same value ``indexer.embedding`` computed
    for the whole folder before exports lived in it (kept identical so torch indexes stay valid)."""
    digest = hashlib.sha256()
    files = (p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    for path in sorted(files):
        rel = path.relative_to(folder).as_posix()
        if rel.split("/", 1)[0] in EXPORT_DIRS or any(part.startswith(".") for part in rel.split("/")):
            continue
        size = path.stat().st_size
        digest.update(f"{rel}:{size}".encode())
        if path.suffix in {".json", ".txt", ".model"} and size <= 32 << 20:
            digest.update(path.read_bytes())
        else:
            with path.open("rb") as fh:
                digest.update(fh.read(PROBE_BYTES))
                fh.seek(max(0, size - PROBE_BYTES))
                digest.update(fh.read(PROBE_BYTES))
    return digest.hexdigest()


def variant_files(folder: Path, variant: Variant) -> list[Path]:
    """The exported files a variant loads (an OpenVINO model is its .xml and .bin)."""
    if variant.file is None:
        return []
    main = folder / variant.file
    return [main, main.with_suffix(".bin")] if variant.backend == "openvino" else [main]


def passage_spans(input_text: str, passage_text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentence offsets within the passage text -> offsets within what the model reads for it.

    ``text.inputs.embedding_input`` puts the title/heading line before the text, so the text is
    the input's tail; the spans move by the length of that context.
    """
    if not input_text.endswith(passage_text):
        raise ValueError("the model input does not end with the passage text")
    shift = len(input_text) - len(passage_text)
    return [(s + shift, e + shift) for s, e in (sentences or [(0, len(passage_text))])]


def _normalise(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return np.ascontiguousarray(rows / np.maximum(norms, 1e-12), dtype=np.float32)


def token_batches(lengths: np.ndarray, budget: int, most: int) -> list[tuple[int, int]]:
    """[start, stop) ranges of ``lengths`` (sorted longest first) whose padded size, count x first length,
    stays within ``budget`` tokens (and ``most`` texts); a text longer than the budget is a batch alone."""
    batches, start = [], 0
    while start < len(lengths):
        size = max(1, min(most, budget // max(1, int(lengths[start]))))
        batches.append((start, min(len(lengths), start + size)))
        start += size
    return batches


class SentenceEncoder:
    """A sentence-transformers model on one backend; ``encode_*`` return L2-normalised float32 rows.

    ``bulk``: another variant of the same weights that embeds passages in calls of :data:`BULK_TEXTS` texts or
    more (a bulk build's batches; a question, or one article written to the service, stays with ``encoder``).
    Its vectors must be interchangeable with the encoder's own (see :data:`INTERCHANGEABLE`): the index records
    the encoder's fingerprint for both."""

    def __init__(self, folder: Path | str, encoder: str = "torch", query_prompt: str = "query: ",
                 passage_prompt: str = "passage: ", batch_size: int = 32, threads: int | None = None,
                 token_budget: int | None = None, bulk: str | None = None, borrowed: SharedTokenizer | None = None):
        if encoder not in VARIANTS:
            raise EncoderUnavailable(
                f"FUNDSTELLE_ENCODER={encoder!r} is not an encoder; choose one of {', '.join(VARIANTS)}")
        if bulk is not None and not {encoder, bulk} <= INTERCHANGEABLE:
            raise ValueError(f"{bulk!r} cannot embed in bulk for {encoder!r}: their vectors are not interchangeable")
        self.bulk = bulk
        # a lean pipeline tokenises with ``borrowed`` (another encoder's tokenizer, under that one's lock)
        self._lent_tokenizer = borrowed.tokenizer if borrowed is not None else None
        self.name = str(folder)  # the index records the folder's name (as for the old Embedder)
        self.folder = Path(folder)
        self.encoder = encoder
        self.variant = VARIANTS[encoder]
        self.prompts = {"query": query_prompt, "passage": passage_prompt}
        self.batch_size = batch_size  # the late-chunking path's texts per forward pass
        # tokens per forward pass (with padding): the default is batch_size texts of the typical passage
        self.token_budget = token_budget or batch_size * TYPICAL_PASSAGE_TOKENS
        self.max_batch = MAX_BATCH
        self.threads = threads or cpu_cores()
        self._counting_lock = threading.Lock()
        # the model's tokenizer is shared with the reader and a bulk helper (SharedTokenizer)
        self._tokenizer_lock = borrowed.lock if borrowed is not None else threading.Lock()
        self._check_files()

    # -- loading ------------------------------------------------------------------------
    def _check_files(self) -> None:
        """Fail at once, with what to do, when the folder or the variant's file is not on disk.

        Only local folders are accepted: a hub name would mean a download (and, offline, a slow
        retry loop inside huggingface_hub before an unhelpful traceback).
        """
        folder = self.folder
        if not folder.is_dir():
            looks_like_hub_name = not folder.is_absolute() and folder.as_posix().count("/") == 1 \
                and not folder.as_posix().startswith(".")
            why = ("is not a local folder; Fundstelle never downloads models from a hub"
                   if looks_like_hub_name else "does not exist (or is not a folder)")
            raise EncoderUnavailable(
                f"FUNDSTELLE_MODEL={self.name!r} {why}. Point FUNDSTELLE_MODEL at a sentence-transformers "
                f"folder on disk; the default ({folder.name if looks_like_hub_name else 'models/multilingual-e5-small'}"
                f") is built by `make install`.")
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise EncoderUnavailable(
                f"FUNDSTELLE_MODEL={self.name!r} is not a sentence-transformers folder (no modules.json or "
                f"config.json); rebuild it with `make install`.")
        missing = [p for p in variant_files(folder, self.variant) if not p.is_file()]
        if missing:
            raise EncoderUnavailable(
                f"FUNDSTELLE_ENCODER={self.encoder!r} needs {missing[0].relative_to(folder)} in the model folder "
                f"{self.name!r}, which is missing: {EXPORT_HINT}, or set FUNDSTELLE_ENCODER=torch.")

    def _model_kwargs(self) -> dict:
        variant = self.variant
        if variant.backend == "onnx":  # one forward pass uses every core
            return {"file_name": variant.file, "provider": "CPUExecutionProvider",
                    "session_options": session_options(self.threads)}
        if variant.backend == "openvino":
            return {"file_name": variant.file,
                    "ov_config": {"INFERENCE_NUM_THREADS": self.threads, "PERFORMANCE_HINT": "LATENCY",
                                  "CACHE_DIR": ""}}
        return {}

    def _cannot_load(self, exc: Exception) -> EncoderUnavailable:
        return EncoderUnavailable(
            f"cannot load FUNDSTELLE_MODEL={self.name!r} with FUNDSTELLE_ENCODER={self.encoder!r} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); {EXPORT_HINT}.")

    @cached_property
    def model(self):
        if self.variant.lean_only:  # late chunking, the one path that needs the full model, is not shipped
            raise EncoderUnavailable(
                f"FUNDSTELLE_ENCODER={self.encoder!r} runs only as the plain Transformer -> mean Pooling -> Normalize "
                f"pipeline (models/openvino_pipeline.py); this use needs sentence-transformers: set "
                f"FUNDSTELLE_ENCODER=onnx-int8 or torch.")
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()  # load reports and notices are not for our users
        transformers.logging.disable_progress_bar()
        if self.variant.backend == "torch":
            import torch

            torch.set_num_threads(self.threads)
        self._check_files()
        try:
            return SentenceTransformer(
                str(self.folder.resolve()), device="cpu", prompts=self.prompts, local_files_only=True,
                backend=self.variant.backend, model_kwargs=self._model_kwargs(),
            )
        except Exception as exc:
            raise self._cannot_load(exc) from exc

    @cached_property
    def pipeline(self) -> LeanPipeline | None:
        """The forward pass without sentence-transformers (models/onnx_pipeline.py) of a variant with a lean
        runtime, where the folder declares the plain Transformer -> mean Pooling -> Normalize; None: ``model``
        runs it."""
        if self.variant.lean is None or not lean_pipeline_fits(self.folder):
            return None
        self._check_files()
        try:
            if self.variant.lean == "openvino":
                from models.openvino_pipeline import OpenVinoPipeline

                return OpenVinoPipeline(self.folder, self.folder / self.variant.file, self.threads,
                                        self._lent_tokenizer)
            return OnnxPipeline(self.folder, self.folder / self.variant.file, self.threads, self._lent_tokenizer)
        except Exception as exc:  # onnxruntime, openvino and tokenizers raise their own types
            raise self._cannot_load(exc) from exc

    @cached_property
    def dim(self) -> int:
        self._check_files()  # a missing folder or export is reported at once, as when the model loads
        stated = folder_dim(self.folder)  # opening an index needs the width only: `fundstelle list` loads no model
        if stated is not None:
            return stated
        model = self.model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    @cached_property
    def fingerprint(self) -> str:
        """Identifies model, prompts and variant: an index built with another fingerprint is refused.

        Content only (no paths), so the same files under another path are the same model.
        """
        payload = f"{self.dim}|{self.prompts}|{base_digest(self.folder)}"
        if self.variant.backend != "torch":  # torch: the old Embedder's value for this folder
            digest = hashlib.sha256()
            for path in variant_files(self.folder, self.variant):
                _file_probe(path, digest)
            payload += f"|{self.encoder}|{digest.hexdigest()}"
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    # -- encoding -----------------------------------------------------------------------
    def _encode(self, texts: list[str], prompt_name: str, progress: bool = False) -> np.ndarray:
        """Forward passes of similar-length texts, each up to :data:`TOKEN_BUDGET` tokens with padding:
        a batch of 32 long passages and one of 200 short sentences cost about the same, where batches of
        32 sentences would pay the per-call cost six times (and mixed lengths pad to the longest)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1:  # a question: nothing to batch
            return self._forward(texts, prompt_name)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for rows in self._batches(texts, prompt_name, progress):
            out[rows] = self._forward([texts[i] for i in rows], prompt_name)
        return out

    def _batches(self, texts: list[str], prompt_name: str, progress: bool):
        """The rows of ``texts`` in forward passes of similar length, longest first (a batch pads to its first
        text), each up to the token budget."""
        from tqdm import tqdm

        lengths = self._token_lengths(texts, prompt_name)
        order = np.argsort(-lengths, kind="stable")
        batches = token_batches(lengths[order], self.token_budget, self.max_batch)
        for start, stop in tqdm(batches, desc="embedding", unit=" batches", disable=not progress):
            yield order[start:stop]

    def _forward(self, texts: list[str], prompt_name: str) -> np.ndarray:
        """One forward pass over ``texts`` (one batch, padded to the longest)."""
        if self.pipeline is not None:
            prompt = self.prompts[prompt_name]
            with self._tokenizer_lock:  # only while tokenising: the reader may tokenise during the forward pass
                ids, mask = self.pipeline.tokenize([prompt + t for t in texts])
            return self.pipeline.embed(ids, mask)
        with self._tokenizer_lock:  # (held over the forward pass too: sentence-transformers tokenises inside)
            vectors = self.model.encode(texts, prompt_name=prompt_name, batch_size=len(texts),
                                        normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _token_lengths(self, texts: list[str], prompt_name: str) -> np.ndarray:
        """Tokens the model reads of each text (prompt and special tokens included, truncated as it truncates).

        The lean ONNX path counts with its own tokenizer under the shared lock; sentence-transformers' is
        reconfigured by every call that pads or truncates differently (two threads doing that at once fail,
        "Already borrowed"), so the other variants count with a copy."""
        prompt = self.prompts[prompt_name]
        if self.pipeline is not None:
            with self._tokenizer_lock:
                return self.pipeline.lengths([prompt + t for t in texts])
        with self._counting_lock:
            encoded = self._counter.encode_batch([(prompt + t).strip() for t in texts])
        return np.fromiter((len(e.ids) for e in encoded), dtype=np.int64, count=len(texts))

    @cached_property
    def _counter(self):
        from tokenizers import Tokenizer

        counter = Tokenizer.from_str(self.model.tokenizer.backend_tokenizer.to_str())
        counter.no_padding()
        counter.enable_truncation(self.model.max_seq_length)
        return counter

    def shared_tokenizer(self) -> SharedTokenizer | None:
        """The model's own tokenizer, for a reader that reads with the same tokenizer.json (None if it has none)."""
        backend = self.pipeline.tokenizer if self.pipeline is not None else \
            getattr(getattr(self.model, "tokenizer", None), "backend_tokenizer", None)
        file = self.folder / "tokenizer.json"
        return SharedTokenizer(backend, self._tokenizer_lock, file) if backend is not None and file.is_file() else None

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._variant_for(len(texts))._encode(texts, "passage", progress)

    def _variant_for(self, texts: int) -> SentenceEncoder:
        """Who embeds a call of ``texts`` passages: the bulk variant for a bulk build's call, else this encoder."""
        return self._bulk if self.bulk is not None and texts >= BULK_TEXTS else self

    @cached_property
    def _bulk(self) -> SentenceEncoder:
        """The bulk variant, loaded on the first bulk call (a serving process that only answers never loads it),
        with this encoder's tokenizer and its lock (one copy of e5's tokenizer holds 280 MB)."""
        return SentenceEncoder(self.folder, self.bulk, query_prompt=self.prompts["query"],
                               passage_prompt=self.prompts["passage"], batch_size=self.batch_size,
                               threads=self.threads, token_budget=self.token_budget,
                               borrowed=self.shared_tokenizer() if self.pipeline is not None else None)

    @cached_property
    def vectors_id(self) -> str:
        """Who makes this encoder's vectors: the fingerprint, with the bulk variant's when it has one. Caches of
        vectors key on this; an index's compatibility on the fingerprint."""
        if self.bulk is None:
            return self.fingerprint
        return f"{self.fingerprint}+{self._bulk.fingerprint}"

    @property
    def description(self) -> str:
        """The variant, and the bulk variant if any: what logs and results name."""
        return self.encoder if self.bulk is None else f"{self.encoder} (bulk: {self.bulk})"

    def encode_passages_with_sentences(
        self, texts: list[str], spans: list[list[tuple[int, int]]], progress: bool = False,
        method: SentenceMethod = "late", sentence_texts: list[list[str]] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, and per passage one vector per sentence span.

        ``spans[i]`` are character offsets into ``texts[i]`` (what the model reads, without the
        prompt: see :func:`passage_spans`). ``method="late"`` pools them from the passage's own
        forward pass; ``"separate"`` embeds ``sentence_texts[i][j]`` (default: the span's text) with the
        passage prompt, and gives a one-sentence passage its passage vector (nothing to choose there).
        """
        if len(spans) != len(texts):
            raise ValueError("spans must have one list per text")
        if method == "late":
            return self._late_chunked(texts, spans, progress)
        if method not in ("separate", "pooled"):
            raise ValueError(f"unknown sentence method {method!r}; use 'late', 'separate' or 'pooled'")
        if sentence_texts is None:
            sentence_texts = [[t[s:e] for s, e in ss] for t, ss in zip(texts, spans, strict=True)]
        if method == "pooled":
            return self._pooled(texts, sentence_texts, progress)
        todo = [s for ss in sentence_texts if len(ss) > 1 for s in ss]
        # One decision for both passes, by all the texts of the call: a bulk build's last batch may hold fewer
        # than BULK_TEXTS passages but many more sentences, and its passages (the longer pass) belong to the build.
        encoder = self._variant_for(len(texts) + len(todo))
        passages = encoder._encode(texts, "passage", progress)
        vectors = encoder._encode(todo, "passage", progress)
        out, row = [], 0
        for i, ss in enumerate(sentence_texts):
            if len(ss) != len(spans[i]):
                raise ValueError("sentence_texts must have one text per span")
            if len(ss) > 1:
                out.append(vectors[row : row + len(ss)])
                row += len(ss)
            else:
                out.append(passages[i : i + 1].copy() if ss else np.zeros((0, self.dim), np.float32))
        return passages, out

    def _pooled(self, texts: list[str], sentence_texts: list[list[str]],
                progress: bool) -> tuple[np.ndarray, list[np.ndarray]]:
        """One pass over the sentences only: a passage of several sentences gets the length-weighted mean of
        its sentences' vectors, a passage of one sentence is embedded as it is (its vector is also its
        sentence's)."""
        inputs = [ss if len(ss) > 1 else [t] for t, ss in zip(texts, sentence_texts, strict=True)]
        vectors = self.encode_passages([s for ss in inputs for s in ss], progress)
        passages = np.zeros((len(texts), self.dim), dtype=np.float32)
        out, row = [], 0
        for i, (ss, own) in enumerate(zip(sentence_texts, inputs, strict=True)):
            rows = vectors[row : row + len(own)]
            row += len(own)
            weights = np.array([len(s) for s in own], dtype=np.float32)[:, None]
            passages[i] = (rows * weights).sum(axis=0)
            out.append(rows if ss else np.zeros((0, self.dim), np.float32))
        return _normalise(passages), out

    def _late_chunked(self, texts: list[str], spans: list[list[tuple[int, int]]],
                      progress: bool) -> tuple[np.ndarray, list[np.ndarray]]:
        """One forward pass over the passages; a sentence's vector is the mean of the passage's token vectors
        whose characters overlap it (the prompt's and special tokens never do), a one-sentence passage's is
        the passage vector (as ``"separate"`` gives it). Batched by tokens like every pass; the variant that
        embeds passages (the bulk one for many) does it, through sentence-transformers where it has no lean
        pipeline."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        # The call counted as "separate" counts it (passages and their sentences), so a build's calls go to the
        # same variant either way: 64 one-passage articles are a bulk build's batch too.
        encoder = self._variant_for(len(texts) + sum(len(own) for own in spans if len(own) > 1))
        if encoder.pipeline is None:
            return encoder._late_chunked_torch(texts, spans, progress)
        prompt = self.prompts["passage"]
        passages = np.empty((len(texts), self.dim), dtype=np.float32)
        sentences: list[np.ndarray] = [np.zeros((0, self.dim), np.float32)] * len(texts)
        for rows in encoder._batches(texts, "passage", progress):
            raw = [prompt + texts[i] for i in rows]
            with encoder._tokenizer_lock:
                ids, mask, offsets = encoder.pipeline.tokenize_with_offsets(raw)
            tokens = encoder.pipeline.token_vectors(ids, mask)
            vectors = mean_pooled(tokens, mask)
            for row, i in enumerate(rows):
                passages[i] = vectors[row]
                sentences[i] = _span_vectors(tokens[row], mask[row], offsets[row], spans[i],
                                             _prompt_shift(prompt, raw[row]), vectors[row])
        return passages, sentences

    def _late_chunked_torch(self, texts: list[str], spans: list[list[tuple[int, int]]],
                            progress: bool) -> tuple[np.ndarray, list[np.ndarray]]:
        """:meth:`_late_chunked` through sentence-transformers' model (the variants without a lean pipeline)."""
        import torch
        from tqdm import tqdm

        model = self.model
        prompt = self.prompts["passage"]
        passages = np.zeros((len(texts), self.dim), dtype=np.float32)
        sentences: list[np.ndarray] = [np.zeros((0, self.dim), np.float32)] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # batches of similar length
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        for batch in tqdm(batches, desc="embedding", unit=" batches", disable=not progress):
            # Exactly what sentence-transformers' Transformer.tokenize does (it strips), plus offsets.
            raw = [prompt + texts[i] for i in batch]
            with self._tokenizer_lock:
                features = model.tokenizer(
                    [t.strip() for t in raw], padding=True, truncation="longest_first",
                    max_length=model.max_seq_length, return_tensors="pt", return_offsets_mapping=True,
                )
            offsets = features.pop("offset_mapping").numpy()
            with torch.inference_mode():
                out = model.forward(dict(features))
            tokens = out["token_embeddings"].float().numpy()
            mask = out["attention_mask"].numpy()
            vectors = _normalise(out["sentence_embedding"].float().numpy())
            for row, i in enumerate(batch):
                passages[i] = vectors[row]
                sentences[i] = _span_vectors(tokens[row], mask[row], offsets[row], spans[i],
                                             _prompt_shift(prompt, raw[row]), vectors[row])
        return passages, sentences


def _prompt_shift(prompt: str, raw: str) -> int:
    """Where a passage's character 0 sits in the text the tokenizer saw: after the prompt, less the leading
    whitespace that was stripped."""
    return len(prompt) - (len(raw) - len(raw.lstrip()))


def _span_vectors(tokens: np.ndarray, mask: np.ndarray, offsets: np.ndarray, spans: list[tuple[int, int]],
                  shift: int, passage: np.ndarray) -> np.ndarray:
    """One unit row per span: the mean of the real tokens overlapping it (the passage vector when none does,
    or when the passage is one sentence)."""
    if len(spans) <= 1:
        return passage[None, :].copy() if spans else np.zeros((0, passage.shape[0]), np.float32)
    start, end = offsets[:, 0], offsets[:, 1]
    real = mask.astype(bool) & (end > start)
    rows = []
    for s, e in spans:
        take = real & (start < e + shift) & (end > s + shift)
        rows.append(tokens[take].mean(axis=0) if take.any() else passage)
    return _normalise(np.stack(rows))


# sentence-transformers modules that pass on the width they are given; any other (Dense, ...) may change it
_WIDTH_KEEPING = {TRANSFORMER, NORMALIZE}


def folder_dim(folder: Path) -> int | None:
    """The vectors' width as a sentence-transformers folder of Transformer, Pooling (and Normalize) states it,
    read without loading the model; None for any other pipeline or an unreadable configuration (then the
    loaded model is asked)."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        pooling = [m for m in modules if m["type"] == POOLING]
        if len(pooling) != 1 or any(m["type"] not in _WIDTH_KEEPING for m in modules if m["type"] != POOLING):
            return None
        config = json.loads((folder / pooling[0]["path"] / "config.json").read_text())
        modes = sum(bool(config.get(mode, default)) for mode, default in POOLING_MODES.items())
        width = int(config["word_embedding_dimension"]) * modes
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return width or None


def load_encoder(settings: Settings, built_with: str | None = None) -> SentenceEncoder:
    """The encoder ``settings`` name: folder ``settings.model``, variant ``settings.encoder``.

    ``built_with``: the fingerprint an existing index recorded; with ``encoder="auto"`` the variant that
    made it answers its questions (question vectors must match the index's: that variant's, or an
    interchangeable one's, which is what the bulk helper adds)."""
    def make(encoder: str, bulk: str | None = None) -> SentenceEncoder:
        return SentenceEncoder(
            settings.model, encoder=encoder, query_prompt=settings.query_prompt,
            passage_prompt=settings.passage_prompt, batch_size=settings.embed_batch_size,
            threads=getattr(settings, "encoder_threads", None), bulk=bulk,
        )

    encoder = getattr(settings, "encoder", "torch")
    if encoder != AUTO:
        return make(encoder)
    folder = Path(settings.model)
    chosen = auto_variant(folder)  # a new index (or one no variant here made: opening it says so)
    if built_with is not None:
        chosen = next((name for name in exported_variants(folder) if make(name).fingerprint == built_with), chosen)
    bulk = bulk_variant(folder)
    return make(chosen, bulk if bulk != chosen and {chosen, bulk} <= INTERCHANGEABLE else None)


AUTO = "auto"
# A call with this many texts is a bulk build's (`fundstelle index` embeds 64 articles' passages, then their
# sentences, at a time); a question or one article written to the service stays below it.
BULK_TEXTS = 256
# Variants whose vectors may stand in for each other in one index: each within cosine 0.996 of fp32 (mean over
# news passages, bench/encoders.py), as close as dynamic int8 is to itself across batch sizes (0.997), and the
# same retrieval quality (bench/quality.py). The static and AVX2 int8 files are not measured for this.
INTERCHANGEABLE = frozenset({"onnx-int8", "openvino-bf16", "onnx", "torch"})
# Fastest first, measured by bench/encoders.py (BENCHMARKS.md): ONNX Runtime's dynamic int8 (1.55-1.7x fp32 torch)
# answers questions: 5.5 ms a question against OpenVINO bf16's 7 ms (and half the CPU time).
_PREFERENCE = ("onnx-int8", "onnx")


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux reports them (empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def auto_variant(folder: Path) -> str:
    """The variant ``auto`` gives a new index in ``folder``: the fastest exported one at questions. With no export
    made, ``onnx-int8``, whose loading then says what to run."""
    exported = set(exported_variants(folder))
    return next((name for name in _PREFERENCE if name in exported), "onnx-int8")


def bulk_variant(folder: Path) -> str | None:
    """What ``auto`` hands bulk indexing to: OpenVINO bf16 where the CPU has AMX (1.8x ONNX Runtime's int8 at
    passages there, bench/encoders.py), if exported; else None (the encoder embeds everything itself)."""
    import importlib.util

    if "amx_bf16" not in cpu_flags() or importlib.util.find_spec("openvino") is None:
        return None
    return "openvino-bf16" if "openvino-bf16" in exported_variants(folder) else None


def exported_variants(folder: Path) -> list[str]:
    """The variants whose files exist in ``folder`` (torch always, if the folder is a model)."""
    return [name for name, v in VARIANTS.items() if all(p.is_file() for p in variant_files(Path(folder), v))]


def export_manifest(folder: Path) -> dict:
    """What models/export.py recorded about the exports in ``folder`` ({} if none)."""
    try:
        return json.loads((Path(folder) / "onnx" / "fundstelle_export.json").read_text())
    except (OSError, ValueError):
        return {}
