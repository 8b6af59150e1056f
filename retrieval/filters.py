"""Metadata filters (outlet, period, articles) applied inside both retrievers, and the answer order.

A filter narrows the candidate pool *before* fusion, so a narrow filter still gets its best
passages: a post-filter of the global top 50 would leave nothing when the answer lies outside it.

- **BM25**: the FTS5 query joins passages and documents and carries the filter as a WHERE clause
  (:meth:`Filters.where`), so FTS5 ranks only allowed rows.
- **Dense**: the allowed passage ids are listed from SQLite first (ints only: cheap). Up to
  :data:`EXACT_MAX` of them, their vectors are read in bulk and scored exactly (one matmul);
  above that, the vector index is searched with oversampling and its hits are filtered, the
  oversampling growing until enough allowed hits are found (see :data:`EXACT_MAX` for why there).

Matching rules: sources compare case-insensitively (Unicode case folding) with the stored
``source``; dates compare on the ISO date prefix (``YYYY-MM-DD``) of ``published``, and an
article without a (well-formed) date never matches a date bound; all given conditions must hold.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from core.errors import IndexProblem
from retrieval.hits import Answer, Hit

if TYPE_CHECKING:
    from store.index import Index
    from store.store import StoredPassage

# Up to this many allowed passages the dense side scores them exactly; above it, the vector index
# is searched with oversampling. Why 10,000 (bench/filters.py, 200,000 passages, flat index, one run
# on a busy 2-core machine; ratios count, not the absolute ms):
#   allowed passages          1,000   5,000  10,000  20,000  50,000
#   exact (list + read + dot)    94     197     245     341     737 ms
#   oversampled index search    268     244     250     284     230 ms   (unfiltered k=50: 208 ms)
# The exact path costs a scan of the articles plus one row read per allowed passage (its 1.5 KB
# vector), so it grows with the filter; the oversampled path costs at least one full index search
# and grows as the filter narrows (k = 50 / share * 2, and on the IVF index every one of those k
# is re-ranked from SQLite and may be missed by the probed lists). They cross near 10,000; below
# it exact is also the only path that is exact on every index kind, which is what a narrow filter
# (one outlet's month, a handful of articles) needs.
EXACT_MAX = 10_000
OVERSAMPLE = 2.0  # expected allowed hits = k * share; ask for twice what is needed
GROWTH = 4  # when a round finds too few allowed hits, the next asks for this many times more

FOLD_FUNCTION = "fundstelle_casefold"  # SQL function: Python's str.casefold (SQLite's lower() is ASCII-only)
ISO_DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"


class Sort(StrEnum):
    RELEVANCE = "relevance"  # best first (the default)
    DATE = "date"  # the same passages, newest first; undated ones last


def fold(value: str | None) -> str | None:
    return value.casefold().strip() if isinstance(value, str) else None


@dataclass(frozen=True)
class Filters:
    """What an answer may come from; every condition given must hold. Empty means: everything."""

    sources: tuple[str, ...] = ()
    published_from: date | None = None  # inclusive
    published_to: date | None = None  # inclusive
    doc_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", tuple(dict.fromkeys(self.sources)))
        object.__setattr__(self, "doc_ids", tuple(dict.fromkeys(self.doc_ids)))
        if self.published_from and self.published_to and self.published_from > self.published_to:
            raise ValueError(f"published_from ({self.published_from}) is after published_to ({self.published_to})")

    @property
    def active(self) -> bool:
        return bool(self.sources or self.doc_ids or self.published_from or self.published_to)

    def matches(self, doc_id: str, source: str | None, published: str | None) -> bool:
        """The same rule as :meth:`where`, in Python (for checks and tests)."""
        if self.doc_ids and doc_id not in self.doc_ids:
            return False
        if self.sources and fold(source) not in {fold(s) for s in self.sources}:
            return False
        if self.published_from or self.published_to:
            day = _iso_day(published)
            if day is None:
                return False
            if self.published_from and day < self.published_from.isoformat():
                return False
            if self.published_to and day > self.published_to.isoformat():
                return False
        return True

    def matches_passage(self, passage: StoredPassage) -> bool:
        return self.matches(passage.doc_id, passage.source, passage.published)

    def where(self) -> tuple[str, list]:
        """A SQL condition over the article ``d`` (documents) and its parameters ("1" if empty).

        Needs :data:`FOLD_FUNCTION` on the connection when sources are given (:func:`prepare`).
        """
        clauses: list[str] = []
        params: list = []
        if self.doc_ids:
            clauses.append(f"d.doc_id IN ({','.join('?' * len(self.doc_ids))})")
            params.extend(self.doc_ids)
        if self.sources:
            folded = list(dict.fromkeys(fold(s) for s in self.sources))
            clauses.append(f"{FOLD_FUNCTION}(d.source) IN ({','.join('?' * len(folded))})")
            params.extend(folded)
        if self.published_from or self.published_to:
            clauses.append(f"d.published GLOB '{ISO_DATE_GLOB}'")
        if self.published_from:
            clauses.append("substr(d.published, 1, 10) >= ?")
            params.append(self.published_from.isoformat())
        if self.published_to:
            clauses.append("substr(d.published, 1, 10) <= ?")
            params.append(self.published_to.isoformat())
        return (" AND ".join(clauses) or "1"), params


def _iso_day(published: str | None) -> str | None:
    if not isinstance(published, str) or len(published) < 10:
        return None
    day = published[:10]
    return day if (day[:4] + day[5:7] + day[8:10]).isdigit() and day[4] == day[7] == "-" else None


def prepare(conn: sqlite3.Connection) -> None:
    """Register the case-folding SQL function on this connection (cheap; safe to repeat)."""
    conn.create_function(FOLD_FUNCTION, 1, fold, deterministic=True)


# Articles first, then their passages through the passages_by_doc index: one visit per article
# (the filter is about articles) instead of one document lookup per passage.
_ALLOWED = "FROM documents d CROSS JOIN passages p ON p.doc_id = d.doc_id WHERE {where}"


def allowed_passages(conn: sqlite3.Connection, filters: Filters) -> np.ndarray:
    """The ids of the passages the filters allow, sorted (in ``conn``'s snapshot)."""
    prepare(conn)
    where, params = filters.where()
    cursor = conn.execute("SELECT p.id " + _ALLOWED.format(where=where), params)
    return np.sort(np.fromiter((r[0] for r in cursor), dtype=np.int64))


def allowed_vectors(conn: sqlite3.Connection, filters: Filters, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of the allowed passages, read in the same pass over the articles."""
    prepare(conn)
    where, params = filters.where()
    rows = conn.execute("SELECT p.id, p.vector " + _ALLOWED.format(where=where), params).fetchall()
    blobs = [r[1] for r in rows]
    if any(not isinstance(b, bytes) or len(b) != dim * 4 for b in blobs):
        bad = next(r[0] for r in rows if not isinstance(r[1], bytes) or len(r[1]) != dim * 4)
        raise IndexProblem(f"passage {bad} has a damaged vector; re-index into a new --index-dir")
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(rows), dim)


def dense_within(index: Index, vector: np.ndarray, filters: Filters, allowed: np.ndarray, limit: int,
                 conn: sqlite3.Connection, exact_max: int | None = None) -> list[tuple[int, float]]:
    """The ``limit`` allowed passages nearest to ``vector``, (id, cosine) best first."""
    if not len(allowed) or limit < 1:
        return []
    if len(allowed) <= (EXACT_MAX if exact_max is None else exact_max):
        ids, vectors = allowed_vectors(conn, filters, index.vectors.dim)
        scores = vectors @ vector.astype(np.float32)
        top = np.argsort(-scores, kind="stable")[:limit]
        return [(int(ids[i]), float(scores[i])) for i in top]
    return _oversampled(index, vector, allowed, limit)


def _oversampled(index: Index, vector: np.ndarray, allowed: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """Search the vector index for more than ``limit`` hits and keep the allowed ones, asking for
    more until ``limit`` of them are found or the whole index was asked for."""
    total = max(1, index.vectors.ntotal)
    k = min(total, max(limit, math.ceil(limit * total / len(allowed) * OVERSAMPLE)))
    while True:
        scores, ids = index.vectors.search(vector[None, :], k)
        ids, scores = ids[0], scores[0]
        at = np.minimum(np.searchsorted(allowed, ids), len(allowed) - 1)
        keep = (ids >= 0) & (allowed[at] == ids)
        found = [(int(i), float(s)) for i, s in zip(ids[keep], scores[keep], strict=True)]
        if len(found) >= limit or k >= total:
            return found[:limit]
        k = min(total, k * GROWTH)


def by_date(hits: Sequence[Hit]) -> list[Hit]:
    """Newest first by the ISO date prefix; undated last; ties keep their relevance order."""
    dated = sorted((h for h in hits if _iso_day(h.passage.published)),
                   key=lambda h: _iso_day(h.passage.published), reverse=True)  # sorted() is stable
    return dated + [h for h in hits if not _iso_day(h.passage.published)]


def order(answer: Answer, sort: Sort) -> Answer:
    """The answer in the asked order (relevance: as ranked)."""
    if Sort(sort) == Sort.RELEVANCE:
        return answer
    return replace(answer, hits=by_date(answer.hits))


def merge_sources(rows: list[tuple[str, int, str | None, str | None]]) -> list[dict]:
    """Outlet rows ``(source, articles, first, last)`` (of one store, or of all shards) as one list:
    spellings that differ only in case are one outlet (filters match them case-insensitively), listed
    under the most frequent spelling; most articles first."""
    merged: dict[str, dict] = {}
    for source, count, first, last in sorted(rows, key=lambda r: -r[1]):
        entry = merged.setdefault(fold(source), {"source": source.strip(), "documents": 0,
                                                 "first_published": None, "last_published": None})
        entry["documents"] += count
        entry["first_published"] = min(filter(None, (entry["first_published"], first)), default=None)
        entry["last_published"] = max(filter(None, (entry["last_published"], last)), default=None)
    return sorted(merged.values(), key=lambda e: (-e["documents"], e["source"].casefold()))
