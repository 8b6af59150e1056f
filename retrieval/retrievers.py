"""The two retrievers over one index, returning candidates with their raw scores.

:class:`IndexRetriever` is the search over one index folder: the unit a router fans out to
when an archive is split into shards. It returns raw scores (cosines, BM25), not ranks, so
candidates from several indexes can be fused as if they came from one; given the archive's BM25
statistics (``Query.lexical_stats``), a shard scores BM25 with them, so its scores are the ones
one index of the whole archive would give. BM25 is asked of the index's lexical index (tantivy, which
skips what cannot reach the top: :mod:`store.lexical_index`) when it follows the store, else of FTS5.
"""

from __future__ import annotations

import numpy as np

from retrieval.query import Query
from retrieval.types import Candidates
from store.bm25 import LEXICAL_OVERFETCH
from store.filters import allowed_passages, dense_within, where
from store.index import Index

CANDIDATES = 50  # per retriever, before fusion


class IndexRetriever:
    """Dense and BM25 candidates from one index, read in one consistent snapshot (a :class:`retrieval.types.Retriever`)."""

    def __init__(self, index: Index, candidates: int = CANDIDATES):
        self.index = index
        self.candidates = candidates

    def retrieve(self, query: Query) -> Candidates:
        index = self.index
        index.refresh()
        found = Candidates()
        filters = query.filters if query.filters is not None and query.filters.active else None
        with index.store.snapshot() as conn:  # one read view: every id read below exists in it
            allowed = allowed_passages(conn, filters) if filters else None  # filters act inside both sides
            # BM25 first: it needs only the terms, while the question may still be embedded (Query.embedding)
            match = query.fts_match() if query.uses_lexical else None
            if match and (allowed is None or len(allowed)):
                condition = where(filters) if filters else ()
                if index.lexical_follows(conn):  # top-k BM25 that skips what cannot make it (tantivy) ...
                    terms = query.lexical_terms
                    stats = query.lexical_stats or index.lexical.stats(index.store, terms)
                    over = index.lexical.search(terms, self.candidates * LEXICAL_OVERFETCH, filters, stats)
                    # ... then FTS5's exact scores for those: the same for one index and for any shards
                    found.lexical = index.store.rescored([pid for pid, _ in over], terms, stats, self.candidates)
                elif query.lexical_stats is None:  # one index: its own statistics are the archive's
                    found.lexical = index.store.lexical(match, self.candidates, *condition)
                else:  # one shard of an archive: scored as one index of the whole archive would
                    found.lexical = index.store.lexical_rescored(query.lexical_terms, query.lexical_stats,
                                                                 self.candidates, *condition)
            if query.uses_dense and allowed is not None:
                found.dense = dense_within(index, query.vector, filters, allowed, self.candidates, conn)
            elif query.uses_dense:
                scores, ids = index.vectors.search(query.vector[None, :], self.candidates)
                found.dense = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
            wanted = list(dict.fromkeys([pid for pid, _ in found.dense] + [pid for pid, _ in found.lexical]))
            found.passages = index.store.passages(wanted)
            present = np.array([pid for pid in wanted if pid in found.passages], dtype=np.int64)  # FAISS may lag
            vectors = index.store.vectors(present, index.vectors.dim)
        found.vectors = dict(zip(present.tolist(), vectors, strict=True))
        found.dense = [(pid, s) for pid, s in found.dense if pid in found.passages]
        found.lexical = [(pid, s) for pid, s in found.lexical if pid in found.passages]
        if query.uses_dense:
            found.cosines = {pid: float(v @ query.vector) for pid, v in found.vectors.items()}
        return found
