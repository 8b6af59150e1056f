"""A persistent cache of embeddings in front of an encoder, so repeated evaluations only embed
what changed. It wraps the configured encoder (composition: it is an :class:`Encoder` itself)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.types import vectors_made_by

if TYPE_CHECKING:
    from models.types import Encoder


class CachingEncoder:
    """Indexing, queries and highlight sentences all go through it; a vector is keyed by the
    model fingerprint, the prompt and the exact text, so a cached one is what the model
    would compute again (up to batch padding noise)."""

    def __init__(self, base: Encoder, path: Path):
        self.base = base
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self.hits = self.misses = 0

    def __getattr__(self, name: str):  # name, dim, fingerprint, … are the base encoder's
        return getattr(self.base, name)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._cached(texts, "passage", lambda todo: self.base.encode_passages(todo, progress))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._cached(texts, "query", self.base.encode_queries)

    def _key(self, prompt_name: str, text: str) -> str:
        return hashlib.sha1(f"{vectors_made_by(self.base)}\0{prompt_name}\0{text}".encode()).hexdigest()

    def _cached(self, texts: list[str], prompt_name: str, encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.base.dim), dtype=np.float32)
        keys = [self._key(prompt_name, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 900):
            chunk = unique[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = encode(list(missing.values()))
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                [(k, v.tobytes()) for k, v in zip(missing, vectors, strict=True)])
            self.db.execute("COMMIT")
            found.update(zip(missing, vectors, strict=True))
        return np.ascontiguousarray(np.stack([found[k] for k in keys]), dtype=np.float32)


def prefill(encoder: CachingEncoder, index, questions: list[str], doc_prefix: str = "") -> None:
    """Embed in batches (fast) what asking one by one will need: the questions, and the sentences
    of the passages whose doc_id starts with ``doc_prefix``, which the highlighter reads."""
    from retrieval.stages.evidence import sentence_inputs

    encoder.encode_queries(questions)
    passages = index.store.passages(index.store.passage_ids().tolist())
    encoder.encode_passages([text for p in passages.values() if p.doc_id.startswith(doc_prefix)
                             for *_, text in sentence_inputs(p)])
