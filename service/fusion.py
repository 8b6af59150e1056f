"""Combine the dense and lexical rankings into one, and keep the top results varied."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np


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


def diversify(
    ranked: Sequence[tuple[int, float]], article: dict[int, str], top_k: int, per_article: int = 2,
    vectors: dict[int, np.ndarray] | None = None, duplicate_cosine: float = 0.97, penalty: float = 1.0,
) -> list[tuple[int, float]]:
    """Greedy re-ranking so that the top results are not all one article or copies of one text.

    A passage loses ``penalty`` for every passage of its article already chosen beyond
    ``per_article``, and for being a near-copy (cosine >= ``duplicate_cosine``) of a chosen
    passage from another article (agency texts run in many outlets). With fused scores in
    about [0, 1] a penalty of 1 moves such passages behind the others without dropping
    them. The returned scores are the adjusted ones, so they never increase down the list.
    """
    pool = list(ranked)
    chosen: list[tuple[int, float]] = []
    per_doc: dict[str, int] = defaultdict(int)
    picked_vectors: list[np.ndarray] = []
    while pool and len(chosen) < top_k:
        best_i, best_score = 0, -np.inf
        for i, (pid, score) in enumerate(pool):
            if score <= best_score:
                break  # the pool is sorted and penalties only lower scores: nothing later can win
            adjusted = score - penalty * max(0, per_doc[article.get(pid, "")] + 1 - per_article)
            if (vectors is not None and picked_vectors and pid in vectors
                    and float(np.max(np.stack(picked_vectors) @ vectors[pid])) >= duplicate_cosine):
                adjusted -= penalty
            if adjusted > best_score:
                best_i, best_score = i, adjusted
        pid, _ = pool.pop(best_i)
        chosen.append((pid, float(best_score)))
        per_doc[article.get(pid, "")] += 1
        if vectors is not None and pid in vectors:
            picked_vectors.append(vectors[pid])
    return chosen
