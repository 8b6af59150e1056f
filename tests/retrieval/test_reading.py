"""The reader stage over the bundled articles, with the reading model `make install` built."""

from __future__ import annotations

import pytest

from core.settings import Settings
from models.reader import load_reader
from models.reader.fusion import decisive
from retrieval.searcher import Searcher
from retrieval.stages.confidence import THRESHOLD

QUESTIONS = [
    "Wie viele nordkoreanische Soldaten sind in Russland?",
    "How many North Korean soldiers are in Russia?",
    "Welche Raketen hat Nordkorea an Russland geliefert?",
    "Wie hoch sind die Verluste der nordkoreanischen Truppen?",
    "What will the weather be like in Hamburg tomorrow?",
]


@pytest.fixture(scope="module")
def reading(engine):
    if engine.reader is None:
        pytest.fail("the engine has no reader: FUNDSTELLE_READER is off or the serving form is missing")
    return engine.searcher


@pytest.mark.parametrize("question", QUESTIONS)
def test_confidence_never_rises_down_the_answer_and_says_whether_it_answers(reading, question):
    answer = reading.ask(question, top_k=8)
    confidences = [h.confidence for h in answer.hits]
    assert len(answer.hits) == 8 and confidences == sorted(confidences, reverse=True)
    assert answer.answer_found == (confidences[0] >= THRESHOLD)
    scores = [h.score for h in answer.hits]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_highlight_is_one_or_two_whole_sentences_of_the_passage(reading, question):
    for hit in reading.ask(question, top_k=5).hits:
        (start, end), = hit.highlights
        covered = [(s, e) for s, e in hit.passage.sentences if start <= s and e <= end]
        assert 1 <= len(covered) <= 2 and (covered[0][0], covered[-1][1]) == (start, end)


def test_the_first_k_answers_do_not_depend_on_k(reading):
    for question in QUESTIONS:
        five = [h.passage.id for h in reading.ask(question, top_k=5).hits]
        assert [h.passage.id for h in reading.ask(question, top_k=1).hits] == five[:1]
        assert [h.passage.id for h in reading.ask(question, top_k=3).hits] == five[:3]


def test_the_figure_is_marked_in_the_first_answer(reading):
    first = reading.ask("Wie viele nordkoreanische Soldaten sind in Russland?", top_k=5).hits[0]
    start, end = first.highlights[0]
    assert "10.000" in first.passage.text[start:end]


def test_a_decisive_first_stage_is_not_read_and_others_are(engine, reading):
    plain = Searcher.over(engine.index, engine.encoder, skip={"reader"})
    calls = []
    score = engine.reader.score
    engine.reader.score = lambda question, sentences: calls.append(len(sentences)) or score(question, sentences)
    try:
        for question in QUESTIONS:
            first = plain.ask(question, top_k=5).hits
            calls.clear()
            read = reading.ask(question, top_k=5).hits
            if decisive(first[0].confidence, [h.score for h in first[:2]]):
                assert not calls and [h.passage.id for h in read] == [h.passage.id for h in first]
            else:
                assert calls and sum(calls) <= 2  # the best sentence of each of the first two passages
    finally:
        engine.reader.score = score


def test_the_reader_can_be_switched_off(monkeypatch, engine):
    monkeypatch.setenv("FUNDSTELLE_READER", "off")
    assert load_reader(Settings()) is None
    plain = Searcher.over(engine.index, engine.encoder, skip={"reader"})
    assert "reader" not in [stage.name for stage in plain.stages]
    assert "reader" in [stage.name for stage in engine.searcher.stages]
