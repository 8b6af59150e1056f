"""The page over an archive of one's own (not the bundled corpus): example questions drawn from it,
the "Archiv" view, the article view that sets apart what is not the article, the timeline
("Wer sagte was, wann") and the conversation kept across a reload.

The module indexes four small articles of a made-up local paper and its rival (tests/web/own_archive/)
into a temporary index and serves it (see conftest.serve_archive): three reports on a new indoor pool whose cost
moved from 12 to 15 to 18 million euros, and one about the library. The .txt files carry their
title, dateline, byline and (one of them) reader comments as a newsroom's export would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.web.conftest import _new_chat, serve_archive

pytestmark = pytest.mark.browser

OWN_ARCHIVE = Path(__file__).resolve().parent / "own_archive"  # the four .txt articles
# newest first, as GET /api/documents lists them
NEWEST_FIRST = [
    "Hallenbad: Kosten steigen auf 18 Millionen Euro",
    "Stadtbibliothek öffnet künftig auch sonntags",
    "Hallenbad wird teurer als geplant",
    "Neues Hallenbad soll 12 Millionen Euro kosten",
]
COST = "Wie viel kostet das neue Hallenbad?"
OPENING = "Wann soll das Hallenbad eröffnen?"
DOCUMENT_PAGES = re.compile(r"/api/documents\?")  # GET /api/documents?offset=…, not one article


@pytest.fixture(scope="module")
def own_archive(tmp_path_factory):
    with serve_archive(tmp_path_factory.mktemp("own-archive"), [OWN_ARCHIVE]) as server:
        yield server


@pytest.fixture
def chat(chromium, own_archive):
    context, chat = _new_chat(chromium, own_archive, viewport={"width": 1366, "height": 860})
    try:
        yield chat
    finally:
        context.close()




def test_examples_are_drawn_from_this_archive(chat):
    # over an empty archive the page says so instead of offering questions
    empty = {"total": 0, "offset": 0, "limit": 30, "documents": []}
    chat.page.route("**/readyz", lambda route: route.fulfill(
        json={"status": "ready", "documents": 0, "passages": 0}))
    chat.page.route(DOCUMENT_PAGES, lambda route: route.fulfill(json=empty))
    chat.open()
    examples = chat.page.locator("#examples")
    expect(examples.locator(".examples-empty")).to_be_visible()
    expect(examples.locator(".examples-empty")).to_contain_text("Das Archiv ist noch leer")
    expect(examples.locator(".chip")).to_have_count(0)

    chat.page.unroute("**/readyz")
    chat.page.unroute(DOCUMENT_PAGES)
    chat.open()
    chips = examples.locator(".chip")
    expect(chips).to_have_count(3)
    expect(examples.locator(".examples-empty")).to_be_hidden()
    questions = chips.all_text_contents()
    # the newest titles, another outlet's before a second of the same one; nothing about North Korea
    assert questions == [f"Worum geht es bei „{title}“?" for title in
                         ("Hallenbad: Kosten steigen auf 18 Millionen Euro", "Stadtbibliothek öffnet künftig auch sonntags",
                          "Hallenbad wird teurer als geplant")], questions
    assert not any("ordkorea" in q for q in questions)
    chat.screenshot("own-archive-examples.png", full_page=False)

    chips.nth(1).click()
    turn = chat.turns().first
    turn.locator(".answer, .timeline, .notice").first.wait_for()
    expect(turn.locator(".bubble")).to_have_text(questions[1])
    expect(turn.locator(".answer:not(.is-nearest) .card").first.locator(".card-title")).to_have_text(
        "Stadtbibliothek öffnet künftig auch sonntags")
    chat.assert_clean()


def test_archive_view_lists_outlets_and_articles(chat):
    documents_requests: list[str] = []
    chat.page.on("request", lambda r: documents_requests.append(r.url) if "/api/documents?" in r.url else None)
    chat.open()
    chat.page.get_by_role("link", name="Archiv").click()
    archive = chat.page.locator("#archive")
    expect(archive).to_be_visible()
    expect(chat.page.locator("#chat")).to_be_hidden()
    expect(chat.page.get_by_role("heading", name="Archiv", exact=True)).to_be_focused()
    expect(chat.page.get_by_role("link", name="Archiv")).to_have_attribute("aria-current", "page")
    expect(archive.locator("#archive-summary")).to_have_text("4 Artikel · 2 Quellen")

    # the outlets, with their article counts and periods
    outlets = archive.locator(".outlet")
    expect(outlets).to_have_count(2)
    expect(outlets.nth(0)).to_contain_text("Lindenauer Tageblatt")
    expect(outlets.nth(0)).to_contain_text("2 Artikel · 05.03.2024 – 11.02.2025")
    expect(outlets.nth(1)).to_contain_text("Rundschau Nord")

    # the articles, newest first, with outlet, author and date
    rows = archive.locator(".doc")
    expect(rows).to_have_count(4)
    assert rows.locator(".doc-title").all_text_contents() == NEWEST_FIRST
    expect(rows.first.locator(".doc-meta")).to_contain_text("Lindenauer Tageblatt")
    expect(rows.first.locator(".doc-meta")).to_contain_text("Petra Albers")
    expect(rows.first.locator(".doc-meta time")).to_have_attribute("datetime", "2025-02-11")
    expect(archive.locator("#archive-count")).to_have_text("1–4 von 4 Artikel")
    expect(archive.locator("#archive-pager")).to_be_hidden()
    chat.screenshot("own-archive-list.png")

    # an outlet narrows the list (GET /api/documents?source=…), and so does a period
    outlets.nth(1).click()
    expect(outlets.nth(1)).to_have_attribute("aria-pressed", "true")
    expect(rows).to_have_count(2)
    assert rows.locator(".doc-title").all_text_contents() == [NEWEST_FIRST[1], NEWEST_FIRST[2]]
    expect(archive.locator("#archive-count")).to_have_text("1–2 von 2 Artikel · Rundschau Nord")
    assert "source=Rundschau+Nord" in documents_requests[-1]
    chat.page.get_by_label("Artikel ab").fill("2025-01-01")
    chat.page.get_by_label("Artikel ab").dispatch_event("change")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".doc-title")).to_have_text(NEWEST_FIRST[1])
    assert "since=2025-01-01" in documents_requests[-1]
    archive.get_by_role("button", name="Zurücksetzen").click()
    expect(rows).to_have_count(4)
    expect(outlets.nth(1)).to_have_attribute("aria-pressed", "false")

    # paged: two articles a page (the service is asked for two)
    chat.page.route(DOCUMENT_PAGES, lambda route: route.continue_(
        url=re.sub(r"limit=\d+", "limit=2", route.request.url)))
    archive.get_by_label("Artikel der Quelle").select_option("")
    chat.page.get_by_label("Artikel bis").fill("2030-01-01")
    chat.page.get_by_label("Artikel bis").dispatch_event("change")
    expect(archive.locator("#archive-count")).to_have_text("1–2 von 4 Artikel · bis 1. Januar 2030")
    pager = archive.locator("#archive-pager")
    expect(pager).to_be_visible()
    expect(pager).to_contain_text("Seite 1 von 2")
    expect(pager.get_by_role("button", name="← Neuere")).to_be_disabled()
    pager.get_by_role("button", name="Ältere →").click()
    expect(archive.locator("#archive-count")).to_have_text("3–4 von 4 Artikel · bis 1. Januar 2030")
    assert rows.locator(".doc-title").all_text_contents() == NEWEST_FIRST[2:]
    expect(pager.get_by_role("button", name="Ältere →")).to_be_disabled()

    # back to the questions
    chat.page.get_by_role("link", name="Fragen").click()
    expect(chat.page.locator("#chat")).to_be_visible()
    expect(archive).to_be_hidden()
    chat.assert_clean()


def test_article_view_sets_apart_what_is_not_the_article(chat):
    """Opened from the archive: the article's prose as the article; title, dateline and byline above
    it and the reader comments below are collapsed and marked, not shown as article text."""
    chat.page.goto(chat.base_url + "/#archiv")
    row = chat.page.locator(".doc").filter(has_text=NEWEST_FIRST[0])
    row.get_by_role("link").click()
    panel = chat.page.locator("#source-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("#source-kicker")).to_have_text("Artikel")
    expect(panel.locator("#source-title")).to_have_text(NEWEST_FIRST[0])
    meta = panel.locator("#source-meta")
    for shown in ("Lindenauer Tageblatt", "Petra Albers", "Lindenau", "11. Februar 2025"):
        expect(meta).to_contain_text(shown)
    expect(meta.locator(".meta-author")).to_have_text("Petra Albers")
    expect(meta.locator(".meta-place")).to_have_text("Lindenau")
    expect(panel.locator("mark.cited")).to_have_count(0)

    text = panel.locator("#source-text")
    expect(text.locator(".para").first).to_be_visible()
    prose = " ".join(text.locator(".para").all_text_contents())
    assert "18 Millionen Euro" in prose and "Karin Seidel" in prose
    for junk in ("Kommentare", "Badegast77", "Wahnsinn", "Von Petra Albers", "11.02.2025"):
        assert junk not in prose, junk

    left_out = text.locator("details.left-out")
    expect(left_out).to_have_count(2)  # above the article (title, dateline, byline) and below (comments)
    for i in range(2):
        expect(left_out.nth(i).locator("summary")).to_contain_text("Nicht Teil des Artikels: Datum, Autor, Kommentare")
        assert left_out.nth(i).evaluate("e => e.open") is False
    comments = left_out.nth(1)
    expect(comments.locator("summary")).to_contain_text("(5 Zeilen)")
    expect(comments.locator(".left-out-line").first).to_be_hidden()
    comments.locator("summary").click()
    expect(comments.locator(".left-out-line").first).to_be_visible()
    assert comments.locator(".left-out-line").all_text_contents()[:2] == ["3 Kommentare", "Badegast77"]
    expect(left_out.nth(0)).to_contain_text("Von Petra Albers, Lindenauer Tageblatt")

    # nothing of the stored text is lost: prose and left-out lines together are the article text
    document = chat.page.request.get(chat.base_url + "/api/documents/hallenbad-kosten").json()
    assert re.sub(r"\s+", "", chat.article_text()) == re.sub(r"\s+", "", document["text"])
    chat.screenshot("own-archive-article.png", full_page=False)

    chat.page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(row.get_by_role("link")).to_be_focused()
    chat.assert_clean()


def test_timeline_shows_who_said_what_when(chat):
    bodies = chat.ask_bodies()
    chat.open()
    answer = chat.ask(COST)
    expect(answer.locator(".answer .card").first).to_be_visible()

    answer.get_by_role("button", name="Wer sagte was, wann?").click()
    turn = chat.turns().nth(1)
    timeline = turn.locator(".timeline")
    timeline.wait_for()
    # the answer's question as it was asked (the first: no history), one passage per article, by date
    assert bodies[-1] == {"question": COST, "top_k": 10, "group": "article", "sort": "date"}
    expect(turn.locator(".turn-kind")).to_have_text("Wer sagte was, wann")
    expect(timeline).to_have_attribute("aria-label", "Zeitleiste: wer sagte was, wann")
    expect(timeline.locator(".answer-count")).to_have_text("Wer sagte was, wann · 3 Artikel · älteste zuerst")

    # one row per article, oldest first: how the figure moved across the reports
    rows = timeline.locator(".timeline-list:not(.timeline-apart) > .tl-row")
    expect(rows).to_have_count(3)
    days = [t.get_attribute("datetime") for t in rows.locator(".tl-date").all()]
    assert days == ["2024-03-05", "2024-09-18", "2025-02-11"], days
    sentences = rows.locator(".tl-open").all_text_contents()
    for sentence, figure in zip(sentences, ("12 Millionen", "15 Millionen", "18 Millionen"), strict=True):
        assert figure in sentence, sentences
    whos = rows.locator(".tl-who").all_text_contents()
    assert ["Lindenauer Tageblatt" in whos[0], "Rundschau Nord" in whos[1], "Petra Albers" in whos[2]] == [True] * 3, whos
    for i in range(3):
        expect(rows.nth(i).locator(".tl-confidence")).to_have_text(re.compile(r"Konfidenz: (sicher|wahrscheinlich)$"))
    # the article that does not answer is set apart, collapsed
    apart = timeline.locator(".apart")
    expect(apart.locator(".apart-summary")).to_have_text("1 weiterer Artikel ohne Antwort auf die Frage")
    expect(apart.locator(".tl-row.tl-muted")).to_have_count(1)
    expect(apart.locator(".tl-title")).to_have_text("Stadtbibliothek öffnet künftig auch sonntags")
    assert apart.evaluate("e => e.open") is False
    chat.assert_in_view(turn)
    chat.screenshot("own-archive-timeline.png", full_page=False)

    # a click opens the article at that passage
    rows.nth(2).locator(".tl-open").click()
    panel = chat.page.locator("#source-panel")
    expect(panel.locator("#source-kicker")).to_have_text("Zeitleiste")
    expect(panel.locator("#source-title")).to_have_text(NEWEST_FIRST[0])
    cited = panel.locator("mark.cited")
    expect(cited).to_contain_text("18 Millionen Euro")
    expect(cited).to_be_in_viewport()
    chat.page.keyboard.press("Escape")

    # a question can be asked as a timeline right away ("Eingrenzen" → Reihenfolge)
    chat.page.get_by_text("Eingrenzen", exact=True).click()
    chat.page.get_by_label("Reihenfolge").select_option("timeline")
    expect(chat.page.locator("#filters-state")).to_have_text("Zeitleiste")
    direct = chat.ask("Was kostet das Hallenbad?")
    expect(direct.locator(".timeline .tl-row").first).to_be_visible()
    assert bodies[-1]["group"] == "article" and bodies[-1]["sort"] == "date"
    chat.assert_clean()


def test_conversation_survives_a_reload_and_can_be_cleared(chat):
    bodies = chat.ask_bodies()
    chat.open()
    expect(chat.page.get_by_role("button", name="Unterhaltung löschen")).to_be_hidden()
    first = chat.ask(COST)
    second = chat.ask(OPENING)
    expect(second.locator(".card").first).to_be_visible()
    chat.assert_in_view(second)
    titles = [turn.locator(".card-title").all_text_contents() for turn in (first, second)]
    kept = json.loads(chat.page.evaluate("localStorage.getItem('fundstelle.conversation')"))
    assert [t["question"] for t in kept["turns"]] == [COST, OPENING]

    chat.page.reload()
    turns = chat.turns()
    expect(turns).to_have_count(2)
    expect(chat.page.locator("#intro")).to_be_hidden()
    assert [turns.nth(i).locator(".bubble").text_content() for i in range(2)] == [COST, OPENING]
    assert [turns.nth(i).locator(".card-title").all_text_contents() for i in range(2)] == titles
    expect(turns.nth(1)).to_be_in_viewport()  # the page opens at the latest answer
    # the restored citations open their articles, and follow-ups still know the conversation
    turns.nth(0).get_by_role("link", name="[1]", exact=True).click()
    expect(chat.page.locator("#source-panel mark.cited")).to_be_visible()
    chat.page.keyboard.press("Escape")
    chat.ask("Und wer hat das gesagt?")
    assert bodies[-1]["history"] == [COST, OPENING]

    # cleared: gone from the page and from the browser
    chat.page.get_by_role("button", name="Unterhaltung löschen").click()
    expect(turns).to_have_count(0)
    expect(chat.page.locator("#intro")).to_be_visible()
    expect(chat.page.locator("#announcer")).to_have_text("Unterhaltung gelöscht.")
    assert chat.page.evaluate("localStorage.getItem('fundstelle.conversation')") is None
    chat.page.reload()
    expect(chat.page.locator("#examples .chip").first).to_be_visible()
    expect(turns).to_have_count(0)
    chat.ask(COST)
    assert "history" not in bodies[-1]
    chat.assert_clean()
