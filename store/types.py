"""The shapes that go into and come out of a store, and the protocols of its parts.

- :class:`Prepared` goes in (an article with its passages, vectors and terms);
- :class:`UpsertResult` says what a write did; :class:`StoredPassage` comes out of reads;
- :class:`PassageSource` is what the context-window stage reads (one index, or a sharded archive's
  shards); :class:`store.vectors.VectorIndex` is the vector index's protocol.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np

from core.documents import Article, Passage


@dataclass(frozen=True)
class StoredPassage:
    id: int
    doc_id: str
    ordinal: int
    paragraph: int
    char_start: int
    char_end: int
    heading: str | None
    sentences: list[tuple[int, int]]
    text: str
    title: str
    source: str | None
    published: str | None
    url: str | None
    author: str | None = None
    pages: tuple[int, ...] = ()  # where each page of a PDF starts in the article's text (empty: not paged)
    # as stored (see pack_sentence_vectors); None: not stored (an older index)
    packed_sentence_vectors: bytes | None = field(default=None, compare=False, repr=False)
    dim: int = field(default=0, compare=False, repr=False)  # of the index's vectors

    def page_of(self, offset: int) -> int | None:
        """The 1-based page of the character at ``offset`` within this passage's text (None: not paged)."""
        return bisect_right(self.pages, self.char_start + offset) if self.pages else None

    @cached_property
    def sentence_vectors(self) -> np.ndarray | None:
        """One unit row per sentence, unpacked when first asked for: of the ~100 candidates a question
        reads, only the 20 of the evidence pool are. None: not stored (the highlighter embeds them)."""
        return unpack_sentence_vectors(self.packed_sentence_vectors, self.dim)


def pack_sentence_vectors(vectors: np.ndarray) -> bytes:
    """Unit vectors as int8 with one fp16 scale each: a quarter of float32, cosines within ~0.003."""
    vectors = np.asarray(vectors, dtype=np.float32)
    scale = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127
    codes = np.round(vectors / scale[:, None]).astype(np.int8)
    return scale.astype(np.float16).tobytes() + codes.tobytes()


def unpack_sentence_vectors(blob: bytes | None, dim: int) -> np.ndarray | None:
    if not blob or len(blob) % (2 + dim):
        return None
    n = len(blob) // (2 + dim)
    scale = np.frombuffer(blob, dtype=np.float16, count=n).astype(np.float32)
    codes = np.frombuffer(blob, dtype=np.int8, offset=2 * n).reshape(n, dim).astype(np.float32)
    vectors = codes * scale[:, None]
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


@dataclass
class UpsertResult:
    """What one upsert transaction did: each article's status and the passage ids it touched."""

    status: dict[str, str]  # doc_id -> 'added' | 'updated' | 'unchanged'
    passages: dict[str, int]  # doc_id -> passages stored for it now
    removed: list[int]
    added: list[int]
    generation: int


@dataclass(frozen=True)
class Prepared:
    """An article ready to store: its passages, their vectors and their BM25 terms."""

    article: Article
    passages: list[Passage]
    vectors: np.ndarray
    terms: list[list[str]]
    sentence_vectors: list[np.ndarray] | None = None  # per passage, one row per sentence


class PassageSource(Protocol):
    """Where the neighbours of a passage and spans of its article are read (context windows)."""

    def neighbours(self, passage: StoredPassage) -> tuple[StoredPassage | None, StoredPassage | None]: ...

    def text_span(self, doc_id: str, start: int, end: int) -> str | None: ...
