"""The one search path behind /api/ask, `fundstelle ask` and `fundstelle eval`."""

from __future__ import annotations

import time

import numpy as np

from indexer.index import Index
from indexer.lexical import fts_query
from service.fusion import reciprocal_rank_fusion
from service.highlight import Highlighter
from service.schemas import AskResponse, Citation, Highlight, PassageHit

CANDIDATES = 50  # per retriever, before fusion


class Searcher:
    def __init__(self, index: Index, candidates: int = CANDIDATES, highlight: bool = True):
        self.index = index
        self.candidates = candidates
        self.highlighter = Highlighter(index.embedder) if highlight else None

    def retrieve(self, question: str, top_k: int) -> tuple[np.ndarray, list[tuple[int, float]]]:
        """Passage ids with fused scores, best first, and the query vector."""
        self.index.refresh()
        query = self.index.embedder.encode_queries([question])[0]
        _, dense_ids = self.index.vectors.search(query[None, :], self.candidates)
        dense = [int(i) for i in dense_ids[0] if i >= 0]
        match = fts_query(question)
        lexical = [pid for pid, _ in self.index.store.lexical(match, self.candidates)] if match else []
        return query, reciprocal_rank_fusion([dense, lexical])

    def run(self, question: str, top_k: int = 5) -> AskResponse:
        started = time.perf_counter()
        if self.index.vectors is None or self.index.vectors.ntotal == 0:
            self.index.refresh()
        query, fused = self.retrieve(question, top_k)
        stored = self.index.store.passages([pid for pid, _ in fused[: top_k * 2]])
        ranked = [(stored[pid], score) for pid, score in fused if pid in stored][:top_k]  # skip just-deleted ids
        passages = [p for p, _ in ranked]
        highlights = self.highlighter.run(question, query, passages) if self.highlighter else [[] for _ in passages]
        hits = [
            PassageHit(
                rank=rank, score=round(score, 6), passage_id=p.id, text=p.text,
                highlights=[Highlight(start=s, end=e) for s, e in spans],
                citation=Citation(doc_id=p.doc_id, title=p.title, source=p.source, published=p.published, url=p.url,
                                  paragraph=p.paragraph, char_start=p.char_start, char_end=p.char_end),
            )
            for rank, ((p, score), spans) in enumerate(zip(ranked, highlights, strict=True), start=1)
        ]
        return AskResponse(question=question, took_ms=round((time.perf_counter() - started) * 1000, 1), passages=hits)
