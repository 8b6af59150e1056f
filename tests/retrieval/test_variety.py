"""Variety: a few passages per article, near-copies last."""

import numpy as np

from retrieval.stages.variety import diversify


def test_diversify_caps_passages_per_article_and_keeps_scores_descending():
    ranked = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6), (5, 0.5)]
    article = {1: "a", 2: "a", 3: "a", 4: "b", 5: "c"}
    chosen = diversify(ranked, article, top_k=5, per_article=2)
    assert [pid for pid, _ in chosen] == [1, 2, 4, 5, 3]
    scores = [score for _, score in chosen]
    assert scores == sorted(scores, reverse=True)


def test_diversify_moves_near_copies_back():
    ranked = [(1, 0.9), (2, 0.85), (3, 0.5)]
    base = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    vectors = {1: base, 2: base.copy(), 3: np.array([0.0, 1.0, 0.0], dtype=np.float32)}
    chosen = diversify(ranked, {1: "a", 2: "b", 3: "c"}, top_k=3, vectors=vectors)
    assert [pid for pid, _ in chosen] == [1, 3, 2]


def test_diversify_returns_everything_when_there_is_no_alternative():
    chosen = diversify([(1, 0.9), (2, 0.8), (3, 0.7)], {1: "a", 2: "a", 3: "a"}, top_k=3)
    assert [pid for pid, _ in chosen] == [1, 2, 3]
