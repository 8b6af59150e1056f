"""Fusion: one score per candidate from the dense and the lexical scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.types import Ranking


def convex_fusion(
    dense: Sequence[tuple[int, float]], lexical: Sequence[tuple[int, float]], lexical_weight: float,
    dense_extra: dict[int, float] | None = None,
) -> list[tuple[int, float]]:
    """(1 - w) * dense + w * lexical, each score brought to a comparable scale per question.

    ``dense`` and ``lexical`` are (id, score) lists, best first, as the retrievers return
    them. Dense cosines are min-max scaled over the dense candidates (1 = best, 0 = the last
    candidate), so only their spread counts, not e5's high baseline similarity; BM25 scores
    are divided by the best one (1 = best match, 0 = no match). Unlike rank fusion this keeps
    how much better one candidate is than the next, and a lexical weight well below 0.5 lets
    the dense side lead where BM25 has little to say (a question in another language).
    ``dense_extra`` holds the cosines of lexical candidates that the dense side did not
    return, so they are scaled the same way instead of counting as 0.
    """
    w = min(1.0, max(0.0, lexical_weight))
    scores: dict[int, float] = {}
    if dense:
        values = np.array([s for _, s in dense], dtype=np.float64)
        hi, lo = float(values.max()), float(values.min())
        span = hi - lo if hi > lo else 1.0
        cosine = dict(dense) | (dense_extra or {})
        for pid in dict.fromkeys([p for p, _ in dense] + [p for p, _ in lexical]):
            if pid in cosine:
                scores[pid] = (1 - w) * (cosine[pid] - lo) / span
    if lexical:
        best = max(s for _, s in lexical) or 1.0
        for pid, s in lexical:
            scores[pid] = scores.get(pid, 0.0) + w * s / best
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)


class Fusion:
    """The first order: dense and BM25 candidates fused into one score each."""

    name = "fusion"

    def __call__(self, ranking: Ranking) -> Ranking:
        found = ranking.found
        ranking.order = convex_fusion(found.dense, found.lexical, ranking.query.lexical_weight, found.cosines)
        return ranking
