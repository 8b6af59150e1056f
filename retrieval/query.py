"""Query analysis: everything the ranking stages need to know about a question, worked out once."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from store.bm25 import fts_any
from text.terms import ENGLISH, GERMAN, terms

if TYPE_CHECKING:
    from core.filters import Filters
    from models.types import Encoder
    from store.bm25 import LexicalStats


class Mode(StrEnum):
    """``hybrid`` is the product; the others are ablations for `fundstelle eval`."""

    HYBRID = "hybrid"  # dense + BM25 fused, re-ranked by the best sentence
    FUSED = "fused"  # dense + BM25 fused, no sentence re-ranking
    DENSE = "dense"
    LEXICAL = "lexical"


class Language(StrEnum):
    DE = "de"
    EN = "en"


# BM25's share of the fused score by question language. The articles are German: for a German
# question both sides count equally; for an English one BM25 only matches names and numbers.
LEXICAL_WEIGHT = {Language.DE: 0.5, Language.EN: 0.25}

_GERMAN_ONLY = GERMAN - ENGLISH
_ENGLISH_ONLY = ENGLISH - GERMAN
_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str) -> Language:
    """German or English, from function words (and umlauts); unclear counts as German.

    Questions are short but full of function words ("Wie viele ... sind in ...?" / "How many
    ... are in ...?"), which tell the two languages apart reliably; the articles are German,
    so the unclear case is treated as German (full lexical matching).
    """
    words = _LETTERS.findall(text.lower())
    german = sum(w in _GERMAN_ONLY for w in words) + (0.5 if re.search("[äöüß]", text.lower()) else 0)
    english = sum(w in _ENGLISH_ONLY for w in words)
    return Language.EN if english > german else Language.DE


@dataclass(frozen=True)
class Query:
    text: str
    language: Language
    terms: tuple[str, ...]  # stemmed content terms, unique, in question order
    # the e5 "query: " embedding, L2-normalised, or its computation still under way (read it as ``vector``)
    embedding: np.ndarray | Future[np.ndarray]
    lexical_weight: float  # BM25's share of the fused score, in [0, 1]
    mode: Mode = Mode.HYBRID
    filters: Filters | None = None  # outlet / period / article restriction, applied inside both retrievers
    # BM25 statistics of a whole sharded archive, for its shards to score with (None: the index's own)
    lexical_stats: LexicalStats | None = None
    phrases: tuple[str, ...] = ()  # neighbouring terms of the question ("a b"), scored by BM25 as phrases

    @property
    def vector(self) -> np.ndarray:
        """The e5 embedding; waits for it while it is still being computed (:func:`analyse`'s ``later``)."""
        return self.embedding.result() if isinstance(self.embedding, Future) else self.embedding

    def resolved(self) -> Query:
        """This query with its embedding computed: what is sent to another process."""
        return replace(self, embedding=self.vector) if isinstance(self.embedding, Future) else self

    @property
    def lexical_terms(self) -> tuple[str, ...]:
        """What BM25 scores: each term, and each phrase of two neighbouring terms."""
        return self.terms + self.phrases

    @property
    def uses_dense(self) -> bool:
        return self.mode != Mode.LEXICAL

    @property
    def uses_lexical(self) -> bool:
        return self.mode != Mode.DENSE

    def fts_match(self) -> str | None:
        """An FTS5 MATCH expression: any of the terms or phrases (BM25 ranks the overlap)."""
        if not self.terms:
            return None
        return fts_any(self.lexical_terms)


def analyse(text: str, encoder: Encoder | None, mode: Mode = Mode.HYBRID,
            later: Callable[[Callable[[], np.ndarray]], Future[np.ndarray]] | None = None) -> Query:
    """The query for ``text``; only the lexical mode may go without an encoder (and gets no vector).

    ``later`` (an executor's ``submit``): the question is embedded there while the caller goes on, e.g. to
    BM25, which needs only the terms; the query's ``vector`` waits for it."""
    language = detect_language(text)
    weight = {Mode.DENSE: 0.0, Mode.LEXICAL: 1.0}.get(mode, LEXICAL_WEIGHT[language])
    embedding: np.ndarray | Future[np.ndarray]
    if mode == Mode.LEXICAL or encoder is None:
        if mode != Mode.LEXICAL:
            raise ValueError(f"mode {mode} needs an encoder")
        embedding = np.zeros(0, np.float32)
    elif later is not None:
        embedding = later(lambda: encoder.encode_queries([text])[0])
    else:
        embedding = encoder.encode_queries([text])[0]
    sequence = terms(text)
    return Query(text=text, language=language, terms=tuple(dict.fromkeys(sequence)), embedding=embedding,
                 lexical_weight=weight, mode=mode, phrases=neighbour_phrases(sequence))


def neighbour_phrases(sequence: list[str]) -> tuple[str, ...]:
    """Phrases of two terms that follow each other in the question ("sprech ukrain"): a passage that
    says "ein Sprecher des ukrainischen ..." holds the phrase, as both sides lose the same stopwords.
    A compound and its parts follow each other in every text that has the compound, so those pairs
    are left out."""
    out = []
    for i, (a, b) in enumerate(itertools.pairwise(sequence)):
        if a in b or b in a or any(a in c and b in c for c in sequence[max(0, i - 2) : i]):
            continue
        out.append(f"{a} {b}")
    return tuple(dict.fromkeys(out))
