"""Fusion of the dense and BM25 scores."""

from retrieval.stages.fusion import convex_fusion


def test_convex_fusion_weights_decide_between_the_retrievers():
    dense = [(1, 0.90), (3, 0.88), (2, 0.80)]
    lexical = [(3, 12.0), (4, 6.0)]
    assert [pid for pid, _ in convex_fusion(dense, lexical, 0.0, {4: 0.70})][:3] == [1, 3, 2]
    assert [pid for pid, _ in convex_fusion(dense, lexical, 1.0, {4: 0.70})][:2] == [3, 4]
    both = dict(convex_fusion(dense, lexical, 0.5, {4: 0.70}))
    assert max(both, key=both.get) == 3  # second on the dense side, first on BM25
    assert both[4] < both[2]  # a weak BM25 find with a poor cosine stays behind
    assert set(both) == {1, 2, 3, 4}


def test_convex_fusion_without_lexical_hits_keeps_the_dense_order():
    dense = [(7, 0.9), (8, 0.8), (9, 0.7)]
    assert [pid for pid, _ in convex_fusion(dense, [], 0.5)] == [7, 8, 9]
    assert convex_fusion([], [], 0.5) == []
