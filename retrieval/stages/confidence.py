"""How sure an answer is: a per-passage confidence in [0, 1] on a fixed scale, and whether the
archive answers the question at all.

The confidence is a logistic function of two things measured per passage: the cosine of its
best sentence with the question (e5's absolute cosines are informative: unrelated text sits
around 0.75-0.80, an answering sentence above 0.85) and the share of the question's content
terms the passage contains (for German questions; an English question shares no words with a
German article). The coefficients are fitted by ``bench/calibrate.py`` on answerable and
unanswerable questions and fixed here, so the same score means the same thing in every answer.
"""

from __future__ import annotations

import math
from dataclasses import replace

from retrieval.query import Language, Query
from retrieval.types import Ranking
from text.terms import terms

# Fitted by logistic regression (bench/calibrate.py) on the first passages of 852 XQuAD questions, half of
# them asked against an index without their paragraph, and of the hand-written question set (105 answerable,
# 27 not); the intercept is shifted so that at most 5 % of the answerable questions of either set fall below
# 0.5. Cross-validated (5 folds): XQuAD 0.72 of the unanswerable flagged, 0.05 of the answerable; question set
# 0.52 and 0.04. See BENCHMARKS.md.
INTERCEPT = -28.99
COSINE = 32.13
COVERAGE_DE = 6.43
OTHER_LANGUAGE = 3.77  # a question in another language than the articles' has lower cosines throughout
THRESHOLD = 0.5  # an answer is found when the best passage's confidence reaches this


def coverage(query: Query, text: str) -> float:
    """Share of the question's content terms found in ``text`` (0 for non-German questions)."""
    if query.language != Language.DE or not query.terms:
        return 0.0
    present = set(terms(text))
    return sum(t in present for t in query.terms) / len(query.terms)


def confidence(query: Query, cosine: float, text: str) -> float:
    other = OTHER_LANGUAGE if query.language != Language.DE else 0.0
    return sigmoid(INTERCEPT + COSINE * cosine + COVERAGE_DE * coverage(query, text) + other)


def sigmoid(z: float) -> float:
    """The logistic function on the confidence scale (clipped: exp never overflows)."""
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, z))))


class Confidence:
    """Each hit's confidence, computed over the text returned (context window included), as
    bench/calibrate.py measured it when fitting the coefficients."""

    name = "confidence"

    def __call__(self, ranking: Ranking) -> Ranking:
        query = ranking.query
        ranking.hits = [replace(hit, confidence=confidence(query, hit.cosine, hit.passage.text)) for hit in ranking.hits]
        return ranking
