"""The data that flows through the indexer: articles in, passages out."""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
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
    author: str | None = None  # who wrote it (a byline, <meta name="author">); never the outlet, which is ``source``
    place: str | None = None  # where it was filed, from a dateline ("Gießen, 03.04.2025", "BERLIN (dpa) –")
    # Where each page of a paged original (PDF) starts in ``text``: pages[0] == 0, one offset per page, so
    # the 1-based page of a character at offset ``c`` is ``bisect.bisect_right(pages, c)``. Empty: not paged.
    pages: tuple[int, ...] = ()
    # What reading the input noticed and did about it ("decoded as cp1252"), for the index report;
    # not part of the article (not hashed, not compared, not stored).
    warnings: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def content_hash(self) -> str:
        """Hash of everything that ends up in the index; equal hash means nothing to do.

        Fields added later (author, place, pages) count only when set, so an article without them
        keeps the hash it had before they existed (an index written then needs no re-embedding)."""
        payload = {k: v for k, v in asdict(self).items()
                   if k not in _NOT_HASHED and not (k in _HASHED_WHEN_SET and v in (None, ()))}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def page_of(self, offset: int) -> int | None:
        """The 1-based page the character at ``offset`` stands on, or None for an article without pages."""
        return bisect_right(self.pages, offset) if self.pages else None


_NOT_HASHED = {"origin", "warnings"}
_HASHED_WHEN_SET = {"author", "place", "pages"}


@dataclass(frozen=True)
class Span:
    """A kept piece of an article: ``text[start:end]``, in body paragraph ``paragraph`` (1-based, counted as a
    reader counts them: title, kicker, dateline, byline and headings are not paragraphs; see text.cleaning)."""

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
