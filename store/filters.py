"""How the SQLite store and the vector index apply :class:`core.filters.Filters`, inside both retrievers.

A filter narrows the candidate pool *before* fusion, so a narrow filter still gets its best
passages: a post-filter of the global top 50 would leave nothing when the answer lies outside it.

- **BM25**: the FTS5 query joins passages and documents and carries the filter as a WHERE clause
  (:func:`where`), so FTS5 ranks only allowed rows.
- **Dense**: the allowed passage ids are listed from SQLite first (ints only: cheap). Up to
  :data:`EXACT_MAX` of them, their vectors are read in bulk and scored exactly (one matmul);
  above that, the vector index is searched with oversampling and its hits are filtered, the
  oversampling growing until enough allowed hits are found (see :data:`EXACT_MAX` for why there).
"""

from __future__ import annotations

import math
import sqlite3
from typing import Protocol

import numpy as np

from core.errors import IndexProblem
from core.filters import Filters, fold
from store.vectors import VectorIndex


class Index(Protocol):
    """What a filtered dense search needs of an index (:class:`store.index.Index`): its vectors."""

    vectors: VectorIndex

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


def where(filters: Filters) -> tuple[str, list]:
    """A SQL condition over the article ``d`` (documents) and its parameters ("1" if empty).

    Needs :data:`FOLD_FUNCTION` on the connection when sources are given (:func:`prepare`).
    """
    clauses: list[str] = []
    params: list = []
    if filters.doc_ids:
        clauses.append(f"d.doc_id IN ({','.join('?' * len(filters.doc_ids))})")
        params.extend(filters.doc_ids)
    if filters.sources:
        folded = list(dict.fromkeys(fold(s) for s in filters.sources))
        clauses.append(f"{FOLD_FUNCTION}(d.source) IN ({','.join('?' * len(folded))})")
        params.extend(folded)
    if filters.published_from or filters.published_to:
        clauses.append(f"d.published GLOB '{ISO_DATE_GLOB}'")
    if filters.published_from:
        clauses.append("substr(d.published, 1, 10) >= ?")
        params.append(filters.published_from.isoformat())
    if filters.published_to:
        clauses.append("substr(d.published, 1, 10) <= ?")
        params.append(filters.published_to.isoformat())
    return (" AND ".join(clauses) or "1"), params


def prepare(conn: sqlite3.Connection) -> None:
    """Register the case-folding SQL function on this connection (cheap; safe to repeat)."""
    conn.create_function(FOLD_FUNCTION, 1, fold, deterministic=True)


# Articles first, then their passages through the passages_by_doc index: one visit per article
# (the filter is about articles) instead of one document lookup per passage.
_ALLOWED = "FROM documents d CROSS JOIN passages p ON p.doc_id = d.doc_id WHERE {where}"


def allowed_passages(conn: sqlite3.Connection, filters: Filters) -> np.ndarray:
    """The ids of the passages the filters allow, sorted (in ``conn``'s snapshot)."""
    prepare(conn)
    condition, params = where(filters)
    cursor = conn.execute("SELECT p.id " + _ALLOWED.format(where=condition), params)
    return np.sort(np.fromiter((r[0] for r in cursor), dtype=np.int64))


def allowed_vectors(conn: sqlite3.Connection, filters: Filters, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of the allowed passages, read in the same pass over the articles."""
    prepare(conn)
    condition, params = where(filters)
    rows = conn.execute("SELECT p.id, p.vector " + _ALLOWED.format(where=condition), params).fetchall()
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
    return oversampled(index, vector, allowed, limit)


def oversampled(index: Index, vector: np.ndarray, allowed: np.ndarray, limit: int) -> list[tuple[int, float]]:
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
