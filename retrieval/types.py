"""The shapes and protocols of retrieval: what a retriever returns, what flows through the ranking
stages, and the seams another implementation plugs into.

- :class:`Retriever`: candidates for a query (:class:`retrieval.retrievers.IndexRetriever` over one
  index; :class:`scaleout.router.FanOutRetriever` over the shards of an archive);
- :class:`Stage`: one step of the ranking (:mod:`retrieval.stages`), ``Ranking`` in, ``Ranking`` out;
- :class:`WindowSource`: where the context windows of the answer's passages are read (one index, or
  the shards that hold them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from store.types import StoredPassage

if TYPE_CHECKING:
    from retrieval.hits import Hit
    from retrieval.query import Query


@dataclass
class Candidates:
    dense: list[tuple[int, float]] = field(default_factory=list)  # (passage id, cosine), best first
    lexical: list[tuple[int, float]] = field(default_factory=list)  # (passage id, BM25), best first
    cosines: dict[int, float] = field(default_factory=dict)  # cosine of every candidate, dense or lexical
    passages: dict[int, StoredPassage] = field(default_factory=dict)
    vectors: dict[int, np.ndarray] = field(default_factory=dict)  # passage vectors, for near-copy checks


@dataclass(frozen=True)
class Evidence:
    span: tuple[int, int]  # the best sentence, offsets within the passage
    cosine: float | None  # the best sentence's cosine with the question; None for a one-sentence passage
    runner_up: tuple[int, int] | None = None  # the second best sentence by the same score; None: one sentence
    lead: float = 0.0  # how far the best sentence's score leads the runner-up's


class Retriever(Protocol):
    def retrieve(self, query: Query) -> Candidates:
        """Dense and lexical candidates of ``query`` with raw scores, their passages and vectors."""
        ...


@dataclass
class Ranking:
    """What the ranking stages pass on: the candidates and their order so far.

    Stages before the choice (fusion, evidence, a reader) reorder ``order``; the choice
    (:mod:`retrieval.stages.variety`) keeps the answer's ``top_k``; stages after it turn them into
    ``hits`` and refine those (highlights, windows, confidence).
    """

    query: Query
    found: Candidates
    top_k: int
    order: list[tuple[int, float]] = field(default_factory=list)  # (passage id, score), best first
    evidence: dict[int, Evidence] = field(default_factory=dict)  # the best sentence of each read candidate
    hits: list[Hit] = field(default_factory=list)  # the answer's passages, once chosen


class Stage(Protocol):
    name: str  # what `fundstelle eval` and bench/levers.py switch off

    def __call__(self, ranking: Ranking) -> Ranking: ...


class WindowSource(Protocol):
    def widen(self, hits: list[Hit], link: bool = True) -> list[Hit]:
        """Each hit with its context window (the neighbouring sentence when the best one sits at an edge), in
        the order given; ``link``: the highlight also takes in an added sentence that continues it. No sentence
        is shown twice: a hit whose highlighted sentence a window above would take in is joined to that result
        (:func:`retrieval.stages.windows.widen_apart`), so the list may be shorter than ``hits``."""
        ...
