"""The one search path behind /api/ask, `fundstelle ask` and `fundstelle eval`: the stages of
:mod:`retrieval` in their order (see the package docstring for what each one does and why)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from retrieval.filters import Filters
from retrieval.followup import contextualise
from retrieval.hits import Answer, Hit
from retrieval.query import Mode, Query, analyse
from retrieval.retrievers import Candidates, IndexRetriever
from retrieval.stages.confidence import THRESHOLD, confidence
from retrieval.stages.evidence import Evidence, Highlighter
from retrieval.stages.fusion import convex_fusion
from retrieval.stages.variety import diversify
from retrieval.stages.windows import widen

if TYPE_CHECKING:
    from models.encoders import Encoder

# Candidates whose sentences are scored before the final order is chosen. Fixed (not derived
# from top_k), so that the first k answers are the same whatever k is asked for.
EVIDENCE_POOL = 20


class Searcher:
    def __init__(self, retriever: IndexRetriever, encoder: Encoder, mode: Mode = Mode.HYBRID,
                 highlighter: Highlighter | None = None, windows: bool = True):
        self.retriever = retriever
        self.encoder = encoder
        self.mode = Mode(mode)
        self.highlighter = highlighter or Highlighter(encoder)
        # context windows read the neighbouring passages of the index the hit came from
        self.widen = (lambda hit: widen(retriever.index.store, hit)) if windows else None

    def ask(self, question: str, top_k: int = 5, history: list[str] | None = None,
            filters: Filters | None = None) -> Answer:
        """The answer to ``question``, asked after ``history`` (earlier questions, most recent last),
        from the articles that match ``filters``."""
        started = time.perf_counter()
        hits = self.search(question, top_k, history, filters)
        found = bool(hits) and hits[0].confidence >= THRESHOLD
        return Answer(question, round((time.perf_counter() - started) * 1000, 1), hits, answer_found=found)

    def search(self, question: str, top_k: int = 5, history: list[str] | None = None,
               filters: Filters | None = None) -> list[Hit]:
        """The top_k passages, best first, with their scores and highlighted sentences."""
        query = replace(analyse(contextualise(question, history), self.encoder, self.mode),
                        filters=filters)  # the retrievers read them (before fusion)
        return self.rank(query, self.retriever.retrieve(query), top_k)

    def rank(self, query: Query, found: Candidates, top_k: int) -> list[Hit]:
        """Fuse, weigh the evidence, choose for variety: the stages after retrieval."""
        fused = convex_fusion(found.dense, found.lexical, query.lexical_weight, found.cosines)
        evidence: dict[int, Evidence] = {}
        if self.mode == Mode.HYBRID and len(found.dense) > 1:
            pool = [found.passages[pid] for pid, _ in fused[:EVIDENCE_POOL]]
            evidence = dict(zip((p.id for p in pool), self.highlighter.analyse(query, pool), strict=True))
            fused = self._weigh_evidence(query, found, fused, evidence)
        articles = {pid: p.doc_id for pid, p in found.passages.items()}
        chosen = diversify(fused, articles, top_k, vectors=found.vectors)
        missing = [found.passages[pid] for pid, _ in chosen if pid not in evidence]
        if missing:  # highlights only: these passages' scores are final already
            evidence.update(zip((p.id for p in missing), self.highlighter.analyse(query, missing), strict=True))
        hits = []
        for pid, score in chosen:
            passage, sentence = found.passages[pid], evidence[pid]
            cosine = sentence.cosine if sentence.cosine is not None else found.cosines.get(pid, 0.0)
            hits.append(Hit(passage, score, [sentence.span], cosine))
        # confidence over the text returned (context window included), as bench/calibrate.py measures it
        return [replace(hit, confidence=confidence(query, hit.cosine, hit.passage.text))
                for hit in self.widen_hits(hits)]

    def widen_hits(self, hits: list[Hit]) -> list[Hit]:
        """Each hit with its context window (a sharded archive replaces this: one call per shard)."""
        return [self.widen(hit) for hit in hits] if self.widen else hits

    @staticmethod
    def _weigh_evidence(query: Query, found: Candidates, fused: list[tuple[int, float]],
                        evidence: dict[int, Evidence]) -> list[tuple[int, float]]:
        """Add each candidate's best-sentence cosine, scaled like the passage cosines were in fusion
        (it counts like a second dense match). Candidates outside the evidence pool count with their
        passage cosine, so every candidate has a score on one scale."""
        cosines = [s for _, s in found.dense]
        low, spread = min(cosines), max(cosines) - min(cosines)
        if spread <= 0:
            return fused
        weight = 1 - query.lexical_weight
        rescored = []
        for pid, score in fused:
            sentence = evidence[pid].cosine if pid in evidence else None
            cosine = sentence if sentence is not None else found.cosines[pid]
            rescored.append((pid, score + weight * (cosine - low) / spread))
        return sorted(rescored, key=lambda item: item[1], reverse=True)
