"""Cleaning on the sample articles: boilerplate out, all prose in, text never rewritten."""

import pytest

from indexer.ingest.readers import read_articles
from tests.paths import BUNDLED_CORPUS
from text.cleaning import clean

ARTICLES = {a.doc_id: a for a in read_articles([BUNDLED_CORPUS])}


def kept_text(doc_id: str) -> str:
    article = ARTICLES[doc_id]
    return "\n".join(article.text[s.start : s.end] for s in clean(article.text, article.title))


@pytest.mark.parametrize("doc_id", sorted(ARTICLES))
def test_spans_are_exact_ordered_and_disjoint(doc_id):
    article = ARTICLES[doc_id]
    spans = clean(article.text, article.title)
    assert spans
    for span in spans:
        piece = article.text[span.start : span.end]
        assert piece and piece == piece.strip()
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize(
    "boilerplate",
    [
        "Kommentar", "avatar", "Melden", "registriert Oktober", "CHF", "Banküberweisung", "DANKE FÜR DIE",
        "Zur Story", "Saidnaya", "Das könnte dich auch noch interessieren", "Bild: imago", "Bild: keystone",
        "Verwendete Quellen", "Mehr «International»", "Tobias Schibilla / t-online", "15.10.2024, 04:15",
        "Russian President Vladimir Putin, left",
    ],
)
def test_watson_article_boilerplate_is_gone(boilerplate):
    assert boilerplate not in kept_text("003_b4d41754e5c68a6e")


def test_tables_comments_and_repeated_title_are_gone():
    kept = kept_text("001_f0337515d6951f32")
    assert "|" not in kept and "Kommentare (0)" not in kept and "Quellen" not in kept
    assert "Nordkorea verstärkt militärische Unterstützung für Russland im Ukraine-Konflikt" not in kept
    kept2 = kept_text("002_f98be471c2941e97")
    assert "Chas Pravdy - 29 Mai" not in kept2 and "\nSource" not in kept2


@pytest.mark.parametrize(
    ("doc_id", "prose"),
    [
        ("003_b4d41754e5c68a6e", "Mehr als zweieinhalb Jahre sind seit dem russischen Überfall auf die Ukraine vergangen."),
        ("003_b4d41754e5c68a6e", "Ein Ende der Zusammenarbeit scheint nicht in Sicht."),
        ("003_b4d41754e5c68a6e", "Diese Strategie zahlte sich für Nordkorea im März aus"),
        ("003_b4d41754e5c68a6e", "Kim Jong-un will ein neues Bündnis schmieden."),
        ("001_f0337515d6951f32", "mehr als 10.000 nordkoreanische Soldaten in Russland sind"),
        ("001_f0337515d6951f32", "Die Situation bleibt angespannt"),
        ("000_d5f171a248e72cd8", "In einer schockierenden Eskalation der militärischen Zusammenarbeit"),
        ("000_d5f171a248e72cd8", "Während der Krieg in der Ukraine weiter wütet"),
        ("002_f98be471c2941e97", "Dieser Umstand hat zu umfangreichen Diskussionen"),
        ("004_51f4a7b1f1e35879", "Der russische Führer Wladimir Putin bestätigte"),
    ],
)
def test_article_prose_is_kept(doc_id, prose):
    assert prose in kept_text(doc_id)


def test_every_prose_paragraph_of_the_plain_article_is_kept():
    article = ARTICLES["000_d5f171a248e72cd8"]
    paragraphs = [line for line in article.text.split("\n") if len(line) > 150]
    kept = kept_text("000_d5f171a248e72cd8")
    assert paragraphs and all(p.strip() in kept for p in paragraphs)


def test_headings_become_context_not_passages():
    article = ARTICLES["000_d5f171a248e72cd8"]
    spans = clean(article.text, article.title)
    assert "Nordkoreanische Truppen im Kriegsgebiet" in {s.heading for s in spans}
    assert "Nordkoreanische Truppen im Kriegsgebiet" not in kept_text("000_d5f171a248e72cd8")


def test_short_clean_text_is_never_dropped_whole():
    spans = clean("Kurz und knapp", title="Eine Meldung")
    assert [(s.start, s.end) for s in spans] == [(0, 14)]


# -- paragraphs as a reader counts them (issue 19) -----------------------------------------------------


def test_title_kicker_dateline_and_byline_are_not_paragraphs():
    text = ("Politik\n\nStadt saniert die Lahnbrücke\n\nGießen, 03.04.2025\n\nVon Katharina Mehlhorn\n\n"
            "Die Stadt lässt die Lahnbrücke ab Mai sanieren, teilte das Bauamt am Donnerstag mit.\n\n"
            "Die Arbeiten dauern voraussichtlich ein Jahr.\n\nUmleitung über die Nordstadt\n\n"
            "Autofahrer werden über die Nordstadt umgeleitet, Radfahrer dürfen die Brücke weiter nutzen.")
    spans = clean(text)
    assert [(text[s.start:s.end][:20], s.paragraph, s.heading) for s in spans] == [
        ("Die Stadt lässt die ", 1, None), ("Die Arbeiten dauern ", 2, None),
        ("Autofahrer werden üb", 3, "Umleitung über die Nordstadt")]


def test_the_first_body_paragraph_of_every_bundled_article_is_paragraph_one():
    for doc_id, article in ARTICLES.items():
        spans = clean(article.text, article.title)
        assert [s.paragraph for s in spans] == list(range(1, len(spans) + 1)), doc_id
    first = clean(ARTICLES["003_b4d41754e5c68a6e"].text, ARTICLES["003_b4d41754e5c68a6e"].title)[0]
    # t-online: kicker, title, date, byline and "Ein Artikel von t-online" stand above its lead (paragraph 7 before)
    assert ARTICLES["003_b4d41754e5c68a6e"].text[first.start:first.end].startswith("Die russische Armee bekommt")
    assert first.paragraph == 1
