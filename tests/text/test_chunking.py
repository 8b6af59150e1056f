"""Passages: German-aware sentence boundaries, exact offsets, bounded size."""

import pytest

from core.documents import Span
from indexer.ingest.readers import read_articles
from tests.paths import BUNDLED_CORPUS
from text.chunking import chunk, sentence_spans
from text.cleaning import clean

ARTICLES = list(read_articles([BUNDLED_CORPUS]))


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Am 12. Juni 2024 unterzeichneten beide Länder einen Vertrag.",
        "Mehr als 10.000 Soldaten sind laut Dr. Müller in Russland.",
        "Das betrifft z. B. Artillerie bzw. Raketen u. a. vom Typ KN-23.",
        "Im 2. Weltkrieg und am 5.November 2024 war es anders.",
        "Die Inflation stieg um 3,5 Prozent auf 650'000 Fälle.",
        "Der Text nennt Nr. 5 und S. 12 sowie Abs. 3 des Vertrags.",
    ],
)
def test_german_abbreviations_ordinals_and_numbers_do_not_split(text):
    assert sentences(text) == [text]


def test_real_sentence_boundaries_split():
    text = "Kim schickt Soldaten. Putin dankt ihm! Was folgt daraus? „Nichts Gutes“, sagt er."
    assert sentences(text) == ["Kim schickt Soldaten.", "Putin dankt ihm!", "Was folgt daraus?", "„Nichts Gutes“, sagt er."]


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.doc_id)
def test_offsets_are_exact_on_the_sample_articles(article):
    passages = chunk(article.doc_id, article.text, clean(article.text, article.title))
    assert passages
    for passage in passages:
        assert article.text[passage.char_start : passage.char_end] == passage.text
        for s, e in passage.sentences:
            assert 0 <= s < e <= len(passage.text)
            assert passage.text[s:e] == passage.text[s:e].strip()


def test_the_answer_sentence_is_whole():
    article = next(a for a in ARTICLES if a.doc_id.startswith("001"))
    passages = chunk(article.doc_id, article.text, clean(article.text, article.title))
    answer = ("Der ukrainische Militärgeheimdienst HUR geht davon aus, dass mehr als 10.000 nordkoreanische Soldaten "
              "in Russland sind, wobei 3.000 bereits vor Ort erwartet werden.")
    sentences_seen = [p.text[s:e] for p in passages for s, e in p.sentences]
    assert answer in sentences_seen


def test_long_single_line_paragraph_is_split_within_limits():
    sentence = "Die Delegation sprach lange über Waffenlieferungen, Munition und die Lage an der Front. "
    text = sentence * 40
    passages = chunk("long", text, [Span(0, len(text.rstrip()), 1)], target_chars=500, max_chars=900)
    assert len(passages) > 5
    assert all(len(p.text) <= 900 for p in passages)
    assert all(p.paragraph == 1 for p in passages)
    assert all(text[p.char_start : p.char_end] == p.text for p in passages)


def test_a_sentence_longer_than_the_limit_is_cut_at_a_space():
    text = " ".join(["Wort"] * 400) + "."
    passages = chunk("x", text, [Span(0, len(text), 1)], target_chars=500, max_chars=600)
    assert all(len(p.text) <= 600 for p in passages)
    assert all(not p.text.startswith(" ") and not p.text.endswith(" ") for p in passages)


def test_passages_do_not_cross_paragraphs():
    text = "Erster Absatz mit einem Satz.\nZweiter Absatz mit noch einem Satz."
    spans = [Span(0, 29, 1), Span(30, len(text), 2)]
    passages = chunk("p", text, spans)
    assert [(p.paragraph, p.text) for p in passages] == [
        (1, "Erster Absatz mit einem Satz."), (2, "Zweiter Absatz mit noch einem Satz."),
    ]


def test_long_text_is_segmented_in_windows_with_the_same_boundaries(monkeypatch):
    from pathlib import Path

    import text.chunking as chunking
    from tests.paths import REPO_ROOT

    text = " ".join(p.read_text().replace("\n", " ") for p in sorted(Path(REPO_ROOT, "data", "corpus").glob("*.txt")))
    assert len(text) > 5 * chunking.SEGMENT_WINDOW
    windowed = chunking.sentence_spans(text)
    monkeypatch.setattr(chunking, "SEGMENT_WINDOW", 10**9)
    assert windowed == chunking.sentence_spans(text)  # the same sentences as pysbd over the whole text


def test_a_huge_paragraph_is_segmented():
    from text.chunking import sentence_spans

    text = "Sehr viel Text. " * 20_000  # pysbd alone takes minutes on this (quadratic)
    spans = sentence_spans(text)
    assert len(spans) == 20_000 and all(text[s:e] == "Sehr viel Text." for s, e in spans[:50] + spans[-50:])
