"""The data that flows through the indexer: articles in, passages out."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Article:
    """One news article. ``text`` is stored verbatim; passages are offsets into it."""

    doc_id: str
    title: str
    text: str
    source: str | None = None
    published: str | None = None  # ISO date (YYYY-MM-DD) or datetime
    url: str | None = None
    origin: str | None = None  # the file it was read from, for messages

    def content_hash(self) -> str:
        """Hash of everything that ends up in the index; equal hash means nothing to do."""
        payload = {k: v for k, v in asdict(self).items() if k != "origin"}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Span:
    """A kept piece of an article: ``text[start:end]``, in paragraph ``paragraph`` (1-based)."""

    start: int
    end: int
    paragraph: int
    heading: str | None = None


@dataclass(frozen=True)
class Passage:
    doc_id: str
    ordinal: int
    paragraph: int
    char_start: int
    char_end: int
    text: str
    heading: str | None = None
    sentences: list[tuple[int, int]] = field(default_factory=list)  # offsets within ``text``
