"""The one search path behind /api/ask, `fundstelle ask` and `fundstelle eval`: the question is analysed
(:mod:`retrieval.query`, with :mod:`retrieval.followup` for elliptic follow-ups), a retriever finds
candidates (:class:`retrieval.types.Retriever`), and the ranking stages (:mod:`retrieval.ranking`) turn
them into the answer."""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

from core.filters import Filters
from models.encoders import cpu_cores
from retrieval import ranking
from retrieval.followup import contextualise
from retrieval.hits import Answer, Hit
from retrieval.query import Mode, analyse
from retrieval.retrievers import IndexRetriever
from retrieval.stages.confidence import THRESHOLD
from retrieval.stages.evidence import Highlighter
from retrieval.stages.windows import IndexWindows
from retrieval.types import Ranking, Retriever, WindowSource

if TYPE_CHECKING:
    from models.reader import Reader
    from models.types import Encoder
    from store.index import Index


# Questions are embedded here while the asking thread runs BM25, which needs only the terms: one core each,
# so the embedding costs no wall time next to BM25 (about 4 ms of an /api/ask, BENCHMARKS.md). Shared by every
# Searcher of the process; as many workers as cores, as a question's embedding uses one (models/onnx_pipeline.py).
_EMBEDDING = ThreadPoolExecutor(max_workers=cpu_cores(), thread_name_prefix="question")


class Searcher:
    def __init__(self, retriever: Retriever, encoder: Encoder, mode: Mode = Mode.HYBRID,
                 highlighter: Highlighter | None = None, windows: WindowSource | None = None,
                 skip: Iterable[str] = (), reader: Reader | None = None):
        """``windows``: where context windows are read (None: no windows); ``skip``: stages switched off by
        name (:mod:`retrieval.ranking`; "followups" asks every question as it is); ``reader``: the reading
        model of the reader stage (None: no reading)."""
        self.retriever = retriever
        self.encoder = encoder
        self.mode = Mode(mode)
        self.highlighter = highlighter or Highlighter(encoder)
        self.skip = frozenset(skip)
        self.reader = reader if "reader" not in self.skip else None
        self.stages = ranking.stages(self.highlighter, windows, self.skip, self.reader)

    @classmethod
    def over(cls, index: Index, encoder: Encoder, mode: Mode = Mode.HYBRID, skip: Iterable[str] = (),
             reader: Reader | None = None) -> Searcher:
        """The product's search over one index: its retriever, its context windows, the reader if given."""
        return cls(IndexRetriever(index), encoder, mode=mode, windows=IndexWindows(index.store), skip=skip,
                   reader=reader)

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
        text = question if "followups" in self.skip else contextualise(question, history)
        query = replace(analyse(text, self.encoder, self.mode, later=_EMBEDDING.submit), filters=filters)
        found = self.retriever.retrieve(query)
        return ranking.run(self.stages, Ranking(query, found, top_k)).hits
