"""The one search path behind /api/ask, `fundstelle ask` and `fundstelle eval`.

1. The question is embedded once (e5 "query: " prompt) and searched in FAISS; its
   German-stemmed terms are searched with BM25 in SQLite FTS5.
2. The two candidate lists are fused by score (:func:`service.fusion.convex_fusion`).
   BM25's weight depends on the question's language: for a German question both sides
   count equally; for an English one (the articles are German) BM25 only matches names
   and numbers, so the multilingual dense side leads.
3. The top is chosen for variety (:func:`service.fusion.diversify`): at most two
   passages of one article and no near-copies before the other candidates.
4. Each chosen passage's sentences are scored against the question (:mod:`service.highlight`):
   the best one is highlighted, and its cosine re-orders the chosen passages, counting like a
   second dense match on the same scale (a passage whose one sentence answers precisely
   beats a passage that is only broadly about the topic). Those sentence vectors are needed
   for the highlight anyway, so the re-ordering costs nothing extra.

Modes other than "hybrid" are ablations for `fundstelle eval`: "fused" stops before the
sentence re-ordering, "dense" and "lexical" use one retriever alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from indexer.index import Index
from indexer.lexical import fts_query, question_language
from indexer.store import StoredPassage
from service.fusion import convex_fusion, diversify
from service.highlight import Highlighter
from service.schemas import AskResponse, Citation, Highlight, PassageHit

CANDIDATES = 50  # per retriever, before fusion
MODES = ("hybrid", "fused", "dense", "lexical")
# BM25's share of the fused score by question language; other languages get the "en" weight.
LEXICAL_WEIGHT = {"de": 0.5, "en": 0.25}
PER_ARTICLE = 2  # passages of one article in the top before the other articles' turn
DUPLICATE_COSINE = 0.97  # passages this similar count as copies of each other


@dataclass(frozen=True)
class Hit:
    passage: StoredPassage
    score: float
    highlights: list[tuple[int, int]]  # offsets within passage.text


class Searcher:
    def __init__(self, index: Index, candidates: int = CANDIDATES, highlight: bool = True, mode: str = "hybrid"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.index = index
        self.candidates = candidates
        self.mode = mode
        self.highlighter = Highlighter(index.embedder) if highlight else None

    def lexical_weight(self, question: str) -> float:
        if self.mode in ("dense", "lexical"):
            return 1.0 if self.mode == "lexical" else 0.0
        return LEXICAL_WEIGHT.get(question_language(question), LEXICAL_WEIGHT["en"])

    def _fuse(self, question: str, query: np.ndarray) -> tuple[list[tuple[int, float]], tuple[float, float] | None]:
        """Passage ids with fused scores (best first), and the dense scale; call inside a store snapshot.

        The scale is (lowest cosine, highest - lowest) of the dense candidates, the min-max
        that :func:`convex_fusion` applies to them; it puts sentence cosines on the same footing.
        """
        dense: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        if self.mode != "lexical":
            scores, ids = self.index.vectors.search(query[None, :], self.candidates)
            dense = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        if self.mode != "dense":
            match = fts_query(question)
            lexical = self.index.store.lexical(match, self.candidates) if match else []
        extra: dict[int, float] = {}
        if dense and lexical:  # score the lexical finds on the dense side too
            known = {pid for pid, _ in dense}
            missing = np.array([pid for pid, _ in lexical if pid not in known], dtype=np.int64)
            if len(missing):
                vectors = self.index.store.vectors(missing, self.index.vectors.dim)
                extra = dict(zip(missing.tolist(), (vectors @ query).tolist(), strict=True))
        spread = dense[0][1] - dense[-1][1] if dense else 0.0
        scale = (dense[-1][1], spread) if spread > 0 else None
        return convex_fusion(dense, lexical, self.lexical_weight(question), extra), scale

    def search(self, question: str, top_k: int = 5) -> list[Hit]:
        """The top_k passages, best first, with their scores and highlighted sentences."""
        self.index.refresh()
        query = self.index.embedder.encode_queries([question])[0]
        with self.index.store.snapshot():  # one read view: every id read below exists in it
            fused, scale = self._fuse(question, query)
            stored = self.index.store.passages([pid for pid, _ in fused[: top_k * 3 + 10]])
            pool = [(pid, score) for pid, score in fused[: top_k * 3 + 10] if pid in stored]  # FAISS may lag
            ids = np.array([pid for pid, _ in pool], dtype=np.int64)
            vectors = dict(zip(ids.tolist(), self.index.store.vectors(ids, self.index.vectors.dim), strict=True))
        ranked = diversify(pool, {pid: stored[pid].doc_id for pid, _ in pool}, top_k, PER_ARTICLE, vectors,
                           DUPLICATE_COSINE)
        passages = [stored[pid] for pid, _ in ranked]
        if self.highlighter is None:
            return [Hit(p, score, []) for p, (_, score) in zip(passages, ranked, strict=True)]
        evidence = self.highlighter.analyse(question, query, passages)
        hits = []
        for p, (pid, score), ev in zip(passages, ranked, evidence, strict=True):
            if self.mode == "hybrid" and scale is not None:
                # The best sentence counts like a second dense match, scaled like the passage cosines.
                cosine = ev.cosine if ev.cosine is not None else float(vectors[pid] @ query)
                score += (1 - self.lexical_weight(question)) * (cosine - scale[0]) / scale[1]
            hits.append(Hit(p, score, [ev.span]))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits

    def run(self, question: str, top_k: int = 5) -> AskResponse:
        started = time.perf_counter()
        hits = self.search(question, top_k)
        return AskResponse(question=question, took_ms=round((time.perf_counter() - started) * 1000, 1), passages=[
            PassageHit(
                rank=rank, score=round(h.score, 6), passage_id=h.passage.id, text=h.passage.text,
                highlights=[Highlight(start=s, end=e) for s, e in h.highlights],
                citation=Citation(doc_id=h.passage.doc_id, title=h.passage.title, source=h.passage.source,
                                  published=h.passage.published, url=h.passage.url, paragraph=h.passage.paragraph,
                                  char_start=h.passage.char_start, char_end=h.passage.char_end),
            )
            for rank, h in enumerate(hits, start=1)
        ])
