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


def test_a_decisive_first_stage_keeps_its_order_and_only_its_highlight_is_read(engine, reading):
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
                # the first stage's two best sentences of its first passage, to place the highlight; nothing else
                assert sum(calls) <= 2 and [h.passage.id for h in read] == [h.passage.id for h in first]
                assert read[0].confidence == first[0].confidence
                assert [h.highlights for h in read[1:]] == [h.highlights for h in first[1:]]
            else:
                # the best sentence of each of the first two passages, and the first one's runner-up when close
                assert calls and sum(calls) <= 3
    finally:
        engine.reader.score = score


def test_the_reader_moves_a_decisive_answers_highlight_to_the_fact(engine, reading):
    # the first passage is decisive, its best sentence by cosine names the topic ("... der nordkoreanischen
    # Soldaten"), the runner-up, close behind, holds the figure
    question, fact = "Wie viele Offiziere sind unter den nordkoreanischen Soldaten?", "500 Offiziere"
    plain = Searcher.over(engine.index, engine.encoder, skip={"reader"}).ask(question, top_k=3).hits
    read = reading.ask(question, top_k=3).hits
    assert decisive(plain[0].confidence, [h.score for h in plain[:2]])
    assert read[0].passage.id == plain[0].passage.id and read[0].confidence == plain[0].confidence
    (start, end), = plain[0].highlights
    assert fact not in plain[0].passage.text[start:end]
    (start, end), = read[0].highlights
    assert fact in read[0].passage.text[start:end]


def test_the_reader_can_be_switched_off(monkeypatch, engine):
    monkeypatch.setenv("FUNDSTELLE_READER", "off")
    assert load_reader(Settings()) is None
    plain = Searcher.over(engine.index, engine.encoder, skip={"reader"})
    assert "reader" not in [stage.name for stage in plain.stages]
    assert "reader" in [stage.name for stage in engine.searcher.stages]


def test_the_runner_up_follows_a_widened_passage():
    from dataclasses import replace

    from retrieval.hits import Hit
    from retrieval.query import Mode, analyse
    from retrieval.stages.reading import _runner_up
    from retrieval.types import Candidates, Evidence, Ranking
    from store.types import StoredPassage

    text = "Erster Satz. Zweiter Satz. Dritter Satz."
    stored = StoredPassage(id=7, doc_id="a", ordinal=1, paragraph=1, char_start=100, char_end=100 + len(text),
                           heading=None, sentences=[(0, 12), (13, 26), (27, 40)], text=text, title="T",
                           source=None, published=None, url=None)
    ranking = Ranking(query=analyse("Satz?", None, mode=Mode.LEXICAL),
                      found=Candidates(passages={7: stored}), top_k=3,
                      evidence={7: Evidence((0, 12), 0.8, (13, 26))})
    assert _runner_up(ranking, Hit(stored, 1.0, [(0, 12)]), stored.sentences) == 1
    before = "Davor. "  # a context window took in the sentence before the passage
    widened = replace(stored, char_start=100 - len(before), text=before + text,
                      sentences=[(0, 6)] + [(s + len(before), e + len(before)) for s, e in stored.sentences])
    assert _runner_up(ranking, Hit(widened, 1.0, [(7, 19)]), widened.sentences) == 2
    ranking.evidence[7] = Evidence((0, 40), None)  # one sentence: no runner-up
    assert _runner_up(ranking, Hit(stored, 1.0, [(0, 40)]), stored.sentences) is None
