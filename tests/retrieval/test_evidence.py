"""The highlighted sentence: the one that answers, inside the passage, cheap when it can be."""

import numpy as np
import pytest

from retrieval.query import Language, Query, analyse
from retrieval.stages.coherence import linked_span
from retrieval.stages.evidence import Highlighter, sentence_inputs
from store.types import StoredPassage

TEXT = (
    "Die Delegation reiste am Montag nach Pjöngjang. "
    "Der ukrainische Militärgeheimdienst HUR geht davon aus, dass mehr als 10.000 nordkoreanische Soldaten "
    "in Russland sind. "
    "Das Wetter in Moskau war kalt."
)


def passage(text: str, sentences: list[tuple[int, int]], pid: int = 1, title: str = "Nordkoreas Truppen") -> StoredPassage:
    return StoredPassage(pid, "doc", 0, 1, 0, len(text), None, sentences, text, title, None, None, None)


def spans_of(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for part in text.split(". "):
        end = start + len(part) + (1 if not part.endswith(".") else 0)
        out.append((start, min(end, len(text))))
        start = end + 1
    return out


@pytest.fixture(scope="module")
def highlighter(embedder):
    return Highlighter(embedder)


@pytest.mark.parametrize("question", [
    "Wie viele nordkoreanische Soldaten sind in Russland?",
    "How many North Korean soldiers are in Russia?",
])
def test_the_answering_sentence_is_marked(highlighter, embedder, question):
    p = passage(TEXT, spans_of(TEXT))
    [evidence] = highlighter.analyse(analyse(question, embedder), [p])
    start, end = evidence.span
    assert "mehr als 10.000" in TEXT[start:end]
    assert (start, end) in p.sentences


def test_one_sentence_passages_need_no_model(embedder):
    class NoModel:
        def encode_passages(self, texts):
            raise AssertionError("a lone sentence must not be embedded")

    p = passage("Nur ein Satz.", [(0, 13)])
    query = Query("Was?", Language.DE, ("was",), np.zeros(384, dtype=np.float32), 0.5)
    assert [e.span for e in Highlighter(NoModel()).analyse(query, [p])] == [(0, 13)]


def test_a_passage_without_sentence_offsets_is_marked_whole(highlighter, embedder):
    p = passage("Kein Satzende hier", [])
    assert [e.span for e in highlighter.analyse(analyse("Satzende?", embedder), [p])] == [(0, len(p.text))]


def test_sentence_vectors_are_cached(embedder):
    calls = []

    class Counting:
        def encode_passages(self, texts):
            calls.append(len(texts))
            return embedder.encode_passages(texts)

    h = Highlighter(Counting())
    p = passage(TEXT, spans_of(TEXT))
    query = analyse("Wie viele Soldaten?", embedder)
    first = h.analyse(query, [p])
    second = h.analyse(query, [p])
    assert first == second and calls == [3]


def test_the_cache_is_bounded(embedder):
    h = Highlighter(embedder, cache_size=2)
    p = passage(TEXT, spans_of(TEXT))
    h.analyse(analyse("Wer?", embedder), [p])
    assert len(h._cache) == 2


def test_the_model_reads_each_sentence_with_the_article_title():
    p = passage(TEXT, spans_of(TEXT))
    inputs = sentence_inputs(p)
    assert [(s, e) for s, e, _ in inputs] == p.sentences
    assert all(text.startswith("Nordkoreas Truppen\n") for *_, text in inputs)
    assert inputs[1][2].endswith(TEXT[inputs[1][0] : inputs[1][1]])


def test_the_highlight_takes_in_the_next_sentence_when_it_continues(highlighter, embedder):
    text = ("Die Delegation reiste am Montag nach Pjöngjang. "
            "Andrii Cherniak, ein Sprecher des ukrainischen Militärgeheimdienstes, kommentierte die Raketen. "
            "„Ihre Genauigkeit ist nicht sehr hoch“, sagte er. "
            "Das Wetter in Moskau war kalt.")
    p = passage(text, spans_of(text))
    question = "Wie treffsicher sind die Raketen laut dem Sprecher des ukrainischen Militärgeheimdienstes?"
    [evidence] = highlighter.analyse(analyse(question, embedder), [p])
    assert evidence.span == p.sentences[1]  # the sentence sharing the question's words names the topic ...
    start, end = linked_span(text, p.sentences, 1)  # ... and the coherence stage takes in its continuation
    assert (start, end) == (p.sentences[1][0], p.sentences[2][1])
    assert "Genauigkeit" in text[start:end]
