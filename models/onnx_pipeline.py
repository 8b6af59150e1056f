"""The ONNX variants' forward pass without sentence-transformers: ONNX Runtime over the exported file, the
folder's own tokenizer.json, mean pooling and L2 normalisation. That is exactly the pipeline the model folder
declares (Transformer -> Pooling(mean) -> Normalize), which sentence-transformers would run on the same file;
:func:`lean_pipeline_fits` checks the folder declares nothing else, and the vectors are tested equal.

Why not sentence-transformers: importing it (with torch and transformers) costs a process about 430 MB of
memory and 5 s of start-up (``/usr/bin/time python -c "import sentence_transformers"``: 479 MB, 5.3 s; numpy
and onnxruntime: 47 MB, 0.1 s), and a serving process needs none of it. ``openvino-bf16`` runs the same
pipeline on OpenVINO (models/openvino_pipeline.py). The torch and the other OpenVINO variants, and late
chunking (which needs token vectors with offsets), still go through sentence-transformers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

TRANSFORMER = "sentence_transformers.models.Transformer"
POOLING = "sentence_transformers.models.Pooling"
NORMALIZE = "sentence_transformers.models.Normalize"
# Pooling's modes with sentence-transformers' defaults (each one on adds the token width to the output)
POOLING_MODES = {"pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                 "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
                 "pooling_mode_lasttoken": False}


def _json(path: Path) -> dict | list | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def lean_pipeline_fits(folder: Path) -> bool:
    """Whether the folder declares exactly Transformer (no lower-casing) -> mean Pooling (prompt included) ->
    Normalize, with a tokenizer.json: the pipeline :class:`OnnxPipeline` computes. Anything else (a Dense
    layer, CLS pooling, ...) is left to sentence-transformers."""
    modules = _json(folder / "modules.json")
    if not isinstance(modules, list) or [m.get("type") for m in modules] != [TRANSFORMER, POOLING, NORMALIZE]:
        return False
    if modules[0].get("path", "") not in ("", ".") or not (folder / "tokenizer.json").is_file():
        return False
    pooling = _json(folder / modules[1].get("path", "") / "config.json")
    transformer = _json(folder / "sentence_bert_config.json") or {}
    if not isinstance(pooling, dict):
        return False
    modes = {mode for mode, default in POOLING_MODES.items() if pooling.get(mode, default)}
    return (modes == {"pooling_mode_mean_tokens"} and pooling.get("include_prompt", True)
            and not transformer.get("do_lower_case", False))


def session_options(threads: int):
    """ONNX Runtime options of every session here (the encoder, the reader): ``threads`` per forward pass."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1  # the graph is a chain: parallel branches gain nothing
    # Idle pool threads would spin for work after each call: a question's embedding cost 28 ms of
    # CPU instead of 20 at the same 13-14 ms (2 threads), CPU that other requests wait for.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def set_truncation_and_padding(tok, max_length: int, pad_id: int, pad_token: str):
    """Truncate longest first to ``max_length`` and pad to the longest text, on the right. A tokenizers.Tokenizer
    carries both as state, so a tokenizer shared by the encoder and the reader is set again by each user before
    tokenising (under the lock they share); set only when it differs, as transformers does."""
    if tok.truncation != {"max_length": max_length, "stride": 0, "strategy": "longest_first", "direction": "right"}:
        tok.enable_truncation(max_length, strategy="longest_first")
    padding = tok.padding or {}
    if padding.get("pad_id") != pad_id or padding.get("length") is not None \
            or padding.get("pad_to_multiple_of") is not None or padding.get("direction") != "right":
        tok.enable_padding(pad_id=pad_id, pad_token=pad_token)
    return tok


def max_seq_length(folder: Path) -> int:
    stated = (_json(folder / "sentence_bert_config.json") or {}).get("max_seq_length")
    return int(stated) if stated else 512


class LeanPipeline:
    """``tokenize`` (texts -> ids and mask; the caller holds the tokenizer's lock, see SharedTokenizer) and
    ``embed`` (ids and mask -> L2-normalised float32 rows). A runtime subclass supplies ``_last_hidden_state``
    (ONNX Runtime here, OpenVINO in models/openvino_pipeline.py) and ``inputs``, the names its model takes."""

    inputs: set[str]

    def __init__(self, folder: Path, tokenizer=None):
        """``tokenizer``: the folder's tokenizer.json already loaded by another pipeline (lent with its lock)."""
        from tokenizers import Tokenizer

        self.tokenizer = tokenizer or Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.max_length = max_seq_length(folder)
        pad_token = (_json(folder / "tokenizer_config.json") or {}).get("pad_token") or "<pad>"
        if isinstance(pad_token, dict):  # an AddedToken written out
            pad_token = pad_token.get("content", "<pad>")
        self.pad_token, self.pad_id = pad_token, self.tokenizer.token_to_id(pad_token) or 0

    def _encoded(self, texts: list[str]) -> list:
        """Each text stripped (as sentence-transformers does), truncated and padded as it asks the tokenizer to."""
        set_truncation_and_padding(self.tokenizer, self.max_length, self.pad_id, self.pad_token)
        return self.tokenizer.encode_batch([t.strip() for t in texts])

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask of ``texts``."""
        encoded = self._encoded(texts)
        return (np.asarray([e.ids for e in encoded], dtype=np.int64),
                np.asarray([e.attention_mask for e in encoded], dtype=np.int64))

    def lengths(self, texts: list[str]) -> np.ndarray:
        """Tokens the model reads of each text (special tokens included, truncated as it truncates)."""
        encoded = self._encoded(texts)
        return np.fromiter((sum(e.attention_mask) for e in encoded), dtype=np.int64, count=len(texts))

    def tokenize_with_offsets(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Token ids, attention mask and each token's (start, end) characters in its text as stripped
        ((0, 0) for special and padding tokens): what late chunking pools sentences by."""
        encoded = self._encoded(texts)
        return (np.asarray([e.ids for e in encoded], dtype=np.int64),
                np.asarray([e.attention_mask for e in encoded], dtype=np.int64),
                np.asarray([e.offsets for e in encoded], dtype=np.int64))

    def _last_hidden_state(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def token_vectors(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The model's last hidden state: (rows, tokens, dim) float32."""
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        return self._last_hidden_state(feed)

    def embed(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return mean_pooled(self.token_vectors(ids, mask), mask)


def mean_pooled(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The folder's Pooling(mean) and Normalize: one unit row per text from its token vectors."""
    weights = mask[..., None].astype(np.float32)
    pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.ascontiguousarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)


# A forward pass of at most this many tokens (rows x padded length: a question) runs on one core. Below it a
# second thread costs more in hand-offs than it saves; above it the pass uses every core. e5-small int8, one
# row, 2-core AVX-512 machine, median of 25 (ms, one thread / two): 12 tokens 2.7 / 4.0, 17 tokens 3.4 / 4.8,
# 32 tokens 4.7 / 7.4, 64 tokens 9.3 / 11.8, 128 tokens 19.4 / 19.7, 256 tokens 44.8 / 37.4; the vectors are
# the same to the last bit. One core per question also leaves the other to a concurrent request.
SMALL_PASS_TOKENS = 128
# Initializers of at least this many numbers (the word embeddings: 250,037 x 384) are loaded once and given
# to both sessions, so the second costs about 30 MB instead of the model's size again (118 MB for int8).
SHARED_INITIALIZER = 1_000_000


class OnnxPipeline(LeanPipeline):
    """The pipeline on ONNX Runtime, over an exported .onnx file: a pass over many tokens uses ``threads``
    cores, a small one (:data:`SMALL_PASS_TOKENS`, a question) one core."""

    def __init__(self, folder: Path, file: Path, threads: int, tokenizer=None):
        import onnxruntime as ort

        self._shared = _large_initializers(file) if threads > 1 else []  # kept alive: both sessions use them

        def session(cores: int):
            options = session_options(cores)
            for name, value in self._shared:
                options.add_initializer(name, value)
            return ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])

        self.session = session(threads)
        self.small_session = session(1) if threads > 1 else self.session
        self.inputs = {i.name for i in self.session.get_inputs()}
        super().__init__(folder, tokenizer)

    def _last_hidden_state(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        small = feed["input_ids"].size <= SMALL_PASS_TOKENS
        return (self.small_session if small else self.session).run(None, feed)[0]


def _large_initializers(file: Path) -> list:
    """(name, OrtValue) of the model's initializers with at least :data:`SHARED_INITIALIZER` numbers."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    model = onnx.load(str(file))
    return [(t.name, ort.OrtValue.ortvalue_from_numpy(numpy_helper.to_array(t)))
            for t in model.graph.initializer if int(np.prod(t.dims)) >= SHARED_INITIALIZER]
