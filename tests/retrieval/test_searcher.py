"""The search path behind /api/ask, on the sample corpus with the real model."""

from collections import Counter

import numpy as np
import pytest

from retrieval import ranking
from retrieval.query import Language, Mode, analyse
from retrieval.searcher import Searcher
from retrieval.types import Ranking
from service.schemas import AskResponse

GERMAN = "Wie viele nordkoreanische Soldaten sind in Russland?"
ENGLISH = "How many North Korean soldiers are in Russia?"
ANSWER = "mehr als 10.000"


# -- the sample corpus -------------------------------------------------------------------
@pytest.fixture(scope="module")
def answers(engine):
    return {q: AskResponse.from_answer(engine.ask(q, top_k=5)) for q in (GERMAN, ENGLISH)}


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
def test_highlights_are_whole_sentences_inside_the_passage(engine, question):
    for hit in engine.ask(question, top_k=5).hits:
        assert len(hit.highlights) == 1
        start, end = hit.highlights[0]
        assert 0 <= start < end <= len(hit.passage.text)
        sentences = hit.passage.sentences or [(0, len(hit.passage.text))]
        covered = [(s, e) for s, e in sentences if start <= s and e <= end]  # one, or two when the next continues
        assert 1 <= len(covered) <= 2 and (covered[0][0], covered[-1][1]) == (start, end)


@pytest.mark.parametrize("question", [GERMAN, ENGLISH])
def test_the_answer_sentence_is_highlighted(answers, question):
    hit = next(h for h in answers[question].passages if ANSWER in h.text)
    marked = hit.text[hit.highlights[0].start : hit.highlights[0].end]
    assert ANSWER in marked, marked


@pytest.mark.parametrize("mode", ["fused", "dense", "lexical"])
def test_ablation_modes_still_find_the_answer(engine, mode):
    """Each ablation retrieves the answering passage and answers with highlighted passages. (Where it ranks
    is the ablation's measure, not this test's: in dense mode the answer's article already has two passages
    above it, and variety then lets the other articles go first.)"""
    searcher = Searcher.over(engine.index, engine.encoder, mode=Mode(mode))
    found = searcher.retriever.retrieve(analyse(GERMAN, engine.encoder, Mode(mode)))
    assert any(ANSWER in p.text for p in found.passages.values())
    hits = searcher.search(GERMAN, top_k=5)
    assert len(hits) == 5 and all(len(h.highlights) == 1 for h in hits)


def test_unknown_mode_is_refused(engine):
    with pytest.raises(ValueError):
        Searcher.over(engine.index, engine.encoder, mode="magic")


def test_a_question_without_content_words_still_gets_dense_results(engine):
    assert len(engine.ask("Wie viele sind es?", top_k=3).hits) == 3


def test_top_k_larger_than_the_corpus_returns_every_passage_once(engine):
    """Each passage once: as a result of its own, or joined to the neighbouring one whose context window
    would show its highlighted sentence (retrieval.stages.windows.widen_apart); never twice."""
    store = engine.index.store
    hits = engine.ask(GERMAN, top_k=50).hits
    ids = [h.passage.id for h in hits]
    assert len(ids) == len(set(ids)) and len(ids) <= 50
    for n, a in enumerate(hits):
        for b in hits[n + 1 :]:
            assert a.passage.doc_id != b.passage.doc_id or a.passage.char_end <= b.passage.char_start \
                or b.passage.char_end <= a.passage.char_start
    shown = [p for p in store.passages(store.passage_ids().tolist()).values()
             if any(h.passage.doc_id == p.doc_id and h.passage.char_start <= p.char_start
                    and p.char_end <= h.passage.char_end for h in hits)]
    assert len(shown) >= min(50, engine.status().passages)


@pytest.mark.parametrize("question", [GERMAN, ENGLISH, "Welche Waffen liefert Nordkorea?"])
def test_the_first_answers_never_depend_on_top_k(engine, question):
    """Asking for more passages only appends: the ranking of the first k is the same for every k."""
    longest = [h.passage.id for h in engine.ask(question, top_k=50).hits]
    for k in (1, 2, 3, 5, 10, 20):
        assert [h.passage.id for h in engine.ask(question, top_k=k).hits] == longest[:k], k


def test_the_question_is_analysed_once_into_one_query(engine):
    query = analyse(ENGLISH, engine.encoder)
    assert query.language == Language.EN and query.lexical_weight == 0.25
    assert query.vector.shape == (engine.encoder.dim,)
    assert "soldi" in " ".join(query.terms) or "soldier" in " ".join(query.terms)
    assert analyse(GERMAN, engine.encoder).lexical_weight == 0.5


def test_the_question_is_embedded_while_bm25_runs_with_the_same_answer(engine):
    """analyse(later=...) leaves the embedding under way (BM25 needs only the terms); the vector, the query sent
    to another process (resolved) and the answer are what embedding it first gives."""
    from concurrent.futures import Future, ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pending = analyse(GERMAN, engine.encoder, later=pool.submit)
        assert isinstance(pending.embedding, Future)
        now = analyse(GERMAN, engine.encoder)
        assert np.array_equal(pending.vector, now.vector)
        sent = pending.resolved()
        assert isinstance(sent.embedding, np.ndarray) and np.array_equal(sent.vector, now.vector)
        assert now.resolved() is now
    searcher = engine.searcher  # embeds in the background (retrieval.searcher._EMBEDDING)
    first = ranking.run(searcher.stages, Ranking(now, searcher.retriever.retrieve(now), 5)).hits
    assert [h.passage.id for h in searcher.search(GERMAN, top_k=5)] == [h.passage.id for h in first]
