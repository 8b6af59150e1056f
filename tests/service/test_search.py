"""The search path behind /api/ask: fusion, variety, highlights, on the sample corpus with the real model."""

from collections import Counter

import numpy as np
import pytest

from service.fusion import convex_fusion, diversify
from service.search import Searcher

GERMAN = "Wie viele nordkoreanische Soldaten sind in Russland?"
ENGLISH = "How many North Korean soldiers are in Russia?"
ANSWER = "mehr als 10.000"


# -- fusion and variety, no model --------------------------------------------------------
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


# -- the sample corpus -------------------------------------------------------------------
@pytest.fixture(scope="module")
def answers(engine):
    return {q: engine.searcher.run(q, top_k=5) for q in (GERMAN, ENGLISH)}


@pytest.mark.parametrize("question", [GERMAN, ENGLISH])
def test_the_answer_passage_is_in_the_top_three(answers, question):
    top = answers[question].passages[:3]
    assert any(ANSWER in hit.text for hit in top), [hit.text[:80] for hit in top]


@pytest.mark.parametrize("question", [GERMAN, ENGLISH])
def test_the_top_five_come_from_several_articles(answers, question):
    per_article = Counter(hit.citation.doc_id for hit in answers[question].passages)
    assert len(answers[question].passages) == 5
    assert max(per_article.values()) <= 2, per_article


@pytest.mark.parametrize("question", [GERMAN, ENGLISH])
def test_scores_descend_and_ranks_count_up(answers, question):
    hits = answers[question].passages
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("question", [GERMAN, ENGLISH])
def test_highlights_are_whole_sentences_inside_the_passage(engine, answers, question):
    hits = answers[question].passages
    stored = engine.index.store.passages([h.passage_id for h in hits])
    for hit in hits:
        assert len(hit.highlights) == 1
        h = hit.highlights[0]
        assert 0 <= h.start < h.end <= len(hit.text)
        sentences = stored[hit.passage_id].sentences or [(0, len(hit.text))]
        assert (h.start, h.end) in [tuple(s) for s in sentences]


@pytest.mark.parametrize("question", [GERMAN, ENGLISH])
def test_the_answer_sentence_is_highlighted(answers, question):
    hit = next(h for h in answers[question].passages if ANSWER in h.text)
    marked = hit.text[hit.highlights[0].start : hit.highlights[0].end]
    assert ANSWER in marked, marked


@pytest.mark.parametrize("mode", ["fused", "dense", "lexical"])
def test_ablation_modes_still_find_the_answer(engine, mode):
    hits = Searcher(engine.index, mode=mode, highlight=False).search(GERMAN, top_k=5)
    assert hits and any(ANSWER in h.passage.text for h in hits)
    assert all(h.highlights == [] for h in hits)


def test_unknown_mode_is_refused(engine):
    with pytest.raises(ValueError):
        Searcher(engine.index, mode="magic")


def test_a_question_without_content_words_still_gets_dense_results(engine):
    response = engine.searcher.run("Wie viele sind es?", top_k=3)
    assert len(response.passages) == 3


def test_top_k_larger_than_the_corpus_returns_every_passage_once(engine):
    _, total = engine.index.counts()
    response = engine.searcher.run(GERMAN, top_k=50)
    ids = [h.passage_id for h in response.passages]
    assert len(ids) == len(set(ids)) == min(50, total)
