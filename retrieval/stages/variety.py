"""Variety: the top of an answer is not all one article, nor copies of one text."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from retrieval.types import Ranking

PER_ARTICLE = 2  # passages of one article in the top before the other articles' turn
DUPLICATE_COSINE = 0.97  # passages this similar count as copies of each other


def diversify(
    ranked: Sequence[tuple[int, float]], article: dict[int, str], top_k: int, per_article: int = PER_ARTICLE,
    vectors: dict[int, np.ndarray] | None = None, duplicate_cosine: float = DUPLICATE_COSINE, penalty: float = 1.0,
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


class Variety:
    """The answer's ``top_k`` candidates, chosen for variety (prefix-stable: the first k never depend on k);
    at least ``pool`` when a later stage reads more than the answer shows (it cuts to top_k itself), and
    ``spare`` more for a later stage that may leave some out (the context windows: it cuts to the rest).
    Switched off (``penalty`` 0), it only cuts the order: the answer still has top_k passages, in the fused
    order."""

    def __init__(self, pool: int = 0, penalty: float = 1.0, spare: int = 0):
        self.pool = pool
        self.penalty = penalty
        self.spare = spare
        self.name = "variety" if penalty else "cut"

    def __call__(self, ranking: Ranking) -> Ranking:
        found = ranking.found
        articles = {pid: p.doc_id for pid, p in found.passages.items()}
        ranking.order = diversify(ranking.order, articles, max(ranking.top_k, self.pool) + self.spare,
                                  vectors=found.vectors, penalty=self.penalty)
        return ranking
