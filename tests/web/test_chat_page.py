"""The chat page in a real browser against the real service (see conftest.py)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SOLDIERS = "Wie viele nordkoreanische Soldaten sind in Russland?"
MISSILES = "Welche Raketen hat Nordkorea an Russland geliefert?"
EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)



def test_question_shows_cited_passages(chat):
    chat.open()
    expect(chat.page).to_have_title(re.compile("Fundstelle"))
    expect(chat.page.locator("html")).to_have_attribute("lang", "de")
    expect(chat.page.locator("#status")).to_contain_text("Artikel")

    turn = chat.ask(SOLDIERS)

    expect(turn.locator(".msg-user")).to_have_text(re.compile(re.escape(SOLDIERS)))
    cards = turn.locator(".answer .card")
    expect(cards.first).to_be_visible()
    assert 1 <= cards.count() <= 5
    texts = [cards.nth(i).locator(".passage-text").text_content() for i in range(min(3, cards.count()))]
    hits = [i for i, text in enumerate(texts) if "mehr als 10.000" in text]
    assert hits, f"'mehr als 10.000' not in the top 3 passages: {texts}"

    card = cards.nth(hits[0])
    rank = hits[0] + 1
    expect(card.locator(".rank")).to_contain_text(str(rank))
    expect(card.locator(".card-title")).not_to_be_empty()
    expect(card.get_by_role("link", name=f"[{rank}]", exact=True)).to_be_visible()
    marks = card.locator(".passage-text mark")
    assert marks.count() >= 1, "the best sentence is not highlighted"
    marked = marks.first.text_content()
    assert marked.strip() and marked in texts[hits[0]]

    # every card carries rank, title, a numbered citation and its confidence in words
    for i in range(cards.count()):
        expect(cards.nth(i).get_by_role("link", name=f"[{i + 1}]", exact=True)).to_have_count(1)
        expect(cards.nth(i).locator(".card-confidence")).to_have_text(re.compile(r"Konfidenz: (sicher|wahrscheinlich|unsicher)"))
    # the answer as a whole says how sure it is, in words a journalist reads
    expect(turn.locator(".answer-meta .answer-confidence")).to_have_text(re.compile(r"Konfidenz: (sicher|wahrscheinlich)$"))

    # the README's picture of the page: this answer, with the article view open at a passage whose
    # article names its outlet and author
    byline = cards.filter(has=chat.page.locator(".meta-author")).first
    expect(byline).to_be_visible()
    byline.locator(".cite").click()
    panel = chat.page.locator("#source-panel")
    expect(panel.locator("#source-meta .meta-author")).to_be_visible()
    expect(panel.locator("mark.cited")).to_be_in_viewport()
    chat.page.wait_for_timeout(200)  # let the panel's entrance settle
    chat.save_docs_screenshot("chat-page.png")
    expect(chat.page.locator("#send")).to_be_enabled()
    chat.assert_clean()


def test_citation_opens_source_and_conversation_continues(chat):
    chat.open()
    first = chat.ask(SOLDIERS)
    card = first.locator(".card").first
    passage_text = card.locator(".passage-text").text_content()
    card_title = card.locator(".card-title").text_content()
    chat.screenshot("chat.png")

    panel = chat.page.locator("#source-panel")
    expect(panel).to_be_hidden()
    link = first.get_by_role("link", name="[1]", exact=True)
    link.click()

    expect(panel).to_be_visible()
    expect(panel.locator("#source-title")).to_have_text(card_title)
    cited = panel.locator("mark.cited")
    expect(cited).to_have_count(1)
    assert cited.text_content() == passage_text
    expect(cited).to_be_in_viewport()

    # the panel shows the article's full stored text: its prose as the article, the rest collapsed
    href = link.get_attribute("href")
    assert href.startswith("/api/documents/")
    document = chat.page.request.get(chat.base_url + href).json()
    assert _squash(chat.article_text()) == _squash(document["text"])
    assert passage_text in document["text"]
    chat.screenshot("chat-source.png", full_page=False)

    # close with the button: panel gone, focus back on the citation
    chat.page.get_by_role("button", name="Quelle schließen").click()
    expect(panel).to_be_hidden()
    expect(link).to_be_focused()

    # a follow-up question works and both exchanges stay on the page
    second = chat.ask(MISSILES)
    expect(chat.turns()).to_have_count(2)
    expect(second.locator(".card").first).to_be_visible()
    chat.assert_in_view(second)  # the new answer scrolls into view whole, not only a card's title
    expect(first.locator(".card").first.locator(".passage-text")).to_have_text(passage_text)
    expect(first.locator(".msg-user")).to_contain_text(SOLDIERS)
    expect(second.locator(".msg-user")).to_contain_text(MISSILES)

    # a citation of the second answer opens its own source; Escape closes it
    second.get_by_role("link", name="[1]", exact=True).click()
    expect(panel).to_be_visible()
    expect(panel.locator("mark.cited")).to_have_text(second.locator(".card").first.locator(".passage-text").text_content())
    chat.page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    chat.assert_clean()


def test_hostile_article_is_shown_literally_and_never_runs(chat, hostile):
    article, script, img = hostile.article, hostile.script, hostile.img
    chat.open()
    turn = chat.ask(hostile.question)
    card = turn.locator(".card").filter(has_text=script).first
    expect(card).to_be_visible()
    expect(card.locator(".card-title")).to_have_text(article["title"])
    expect(card.locator(".card-meta")).to_contain_text(article["source"])
    text = card.locator(".passage-text").text_content()
    assert script in text and img in text

    card.locator(".cite").click()
    panel = chat.page.locator("#source-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("#source-title")).to_have_text(article["title"])
    expect(panel.locator("#source-meta")).to_contain_text(article["source"])
    expect(panel.locator("mark.cited")).to_be_visible()
    shown = panel.locator("#source-text").text_content()
    assert script in shown and img in shown
    expect(panel.locator("mark.cited")).to_contain_text(script)
    external = panel.get_by_role("link", name=re.compile("Original"))
    expect(external).to_have_attribute("href", re.compile(r"^https://zoo\.example/"))
    expect(external).to_have_attribute("rel", "noopener noreferrer")
    expect(external).to_have_attribute("target", "_blank")

    assert chat.page.evaluate("typeof window.__pwned") == "undefined"
    for area in ("#conversation", "#source-panel"):
        assert chat.page.locator(f"{area} :is(img, script, b, i, iframe, object, embed)").count() == 0, area
    assert chat.page.locator("[onerror], [onload], [onclick]").count() == 0
    chat.assert_clean()


def test_page_stays_on_its_own_origin(chat):
    response = chat.open()
    assert response.status == 200
    assert response.headers.get("content-security-policy") == EXPECTED_CSP

    turn = chat.ask(SOLDIERS)
    turn.get_by_role("link", name="[1]", exact=True).click()
    expect(chat.page.locator("#source-panel mark.cited")).to_be_visible()
    chat.page.keyboard.press("Escape")

    assert chat.requests, "no requests recorded"
    foreign = [
        url for url in chat.requests
        if not (url == chat.base_url or url.startswith(chat.base_url + "/") or url.startswith(("data:", "about:")))
    ]
    assert foreign == [], f"requests outside {chat.base_url}: {foreign}"
    # every asset the page references is served by the service itself
    referenced = chat.page.evaluate(
        "[...document.querySelectorAll('script[src], link[href], img[src]')].map(e => e.src || e.href)"
    )
    assert referenced and all(url.startswith(chat.base_url + "/static/") for url in referenced), referenced
    for url in referenced:
        assert chat.page.request.get(url).status == 200, url
    chat.assert_clean()


def test_service_errors_and_empty_answers_are_explained(chat):
    calls = []

    def fake_ask(route):
        calls.append(route.request.post_data_json)
        if len(calls) == 1:
            route.fulfill(status=500, content_type="application/json",
                          body=json.dumps({"detail": "Suchindex ist beschädigt"}))
        elif len(calls) == 2:
            route.fulfill(status=422, content_type="application/json", body=json.dumps({"detail": [
                {"type": "string_too_long", "loc": ["body", "question"], "msg": "String should have at most 1000 characters"},
            ]}))
        elif len(calls) == 3:
            question = route.request.post_data_json["question"]
            route.fulfill(status=200, content_type="application/json",
                          body=json.dumps({"question": question, "took_ms": 1, "passages": []}))
        elif len(calls) == 4:
            route.abort("connectionrefused")
        else:
            route.fallback()

    chat.page.route("**/api/ask", fake_ask)
    chat.open()

    failed = chat.ask(SOLDIERS)
    error = failed.locator(".notice-error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text("Suchindex ist beschädigt")
    expect(error).to_contain_text("500")
    assert calls[0] == {"question": SOLDIERS, "top_k": 5}

    invalid = chat.ask("Zu lange Frage")
    expect(invalid.locator(".notice-error")).to_contain_text("String should have at most 1000 characters")

    empty = chat.ask("Wer gewann die Fußball-Weltmeisterschaft 1954?")
    expect(empty.locator(".notice-empty")).to_contain_text("Keine passende Stelle gefunden")
    expect(empty.locator(".card")).to_have_count(0)

    offline = chat.ask(SOLDIERS)
    expect(offline.locator(".notice-error")).to_contain_text("nicht erreichbar")

    # retry re-asks the same question; the real service answers this time
    offline.get_by_role("button", name="Erneut versuchen").click()
    answered = chat.turns().nth(4)
    expect(answered.locator(".card").first).to_be_visible()
    expect(chat.turns()).to_have_count(5)
    assert chat.errors == []
    assert chat.csp_violations() == []


def test_loading_state_and_source_errors(chat):
    held = []
    chat.page.route("**/api/ask", lambda route: held.append(route))
    chat.page.route("**/api/documents/**", lambda route: route.fulfill(
        status=200, content_type="application/json",
        body=json.dumps({"doc_id": "x", "title": "Präparierter Artikel", "source": None, "published": None,
                         "url": "javascript:window.__pwned=1", "text": "Kurz.\nZweiter Absatz."}),
    ))
    chat.open()
    chat.textbox.fill(SOLDIERS)
    chat.textbox.press("Enter")

    pending = chat.page.locator(".turn .pending")
    expect(pending).to_be_visible()
    expect(pending).to_contain_text("Suche")
    expect(chat.page.get_by_role("button", name="Frage senden")).to_be_disabled()
    for _ in range(100):
        if held:
            break
        chat.page.wait_for_timeout(50)
    assert len(held) == 1
    held[0].fallback()
    turn = chat.turns().first
    expect(turn.locator(".card").first).to_be_visible()
    expect(pending).to_have_count(0)
    expect(chat.page.get_by_role("button", name="Frage senden")).to_be_enabled()

    # the (faked) article has a javascript: url and the cited offsets do not fit: no link, a warning
    turn.get_by_role("link", name="[1]", exact=True).click()
    panel = chat.page.locator("#source-panel")
    expect(panel.locator("#source-title")).to_have_text("Präparierter Artikel")
    expect(panel.locator("#source-text")).to_contain_text("Zweiter Absatz.")
    expect(panel.locator("#source-status")).to_contain_text("nicht markiert")
    expect(panel.get_by_role("link", name=re.compile("Original"))).to_have_count(0)
    assert chat.page.locator("a[href^='javascript:']").count() == 0

    chat.page.unroute("**/api/documents/**")
    chat.page.route("**/api/documents/**", lambda route: route.fulfill(
        status=404, content_type="application/json", body=json.dumps({"detail": "no document"})))
    turn.get_by_role("link", name="[2]", exact=True).click()
    expect(panel.locator("#source-status")).to_contain_text("nicht (mehr) im Index")
    chat.page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert chat.page.evaluate("typeof window.__pwned") == "undefined"
    assert chat.errors == []


def test_keyboard_only(chat):
    chat.open()
    textbox = chat.textbox
    expect(textbox).to_be_focused()

    # Shift+Enter is a new line, Enter sends
    chat.page.keyboard.type("Wie viele nordkoreanische Soldaten")
    chat.page.keyboard.press("Shift+Enter")
    chat.page.keyboard.type("sind in Russland?")
    expect(chat.turns()).to_have_count(0)
    assert textbox.input_value() == "Wie viele nordkoreanische Soldaten\nsind in Russland?"
    chat.page.keyboard.press("Enter")
    turn = chat.turns().first
    expect(turn.locator(".card").first).to_be_visible()
    expect(turn.locator(".msg-user")).to_contain_text("sind in Russland?")
    expect(textbox).to_have_value("")

    # a citation opens from the keyboard, focus moves into the panel, Escape returns it
    link = turn.get_by_role("link", name="[1]", exact=True)
    link.focus()
    chat.page.keyboard.press("Enter")
    panel = chat.page.locator("#source-panel")
    expect(panel.locator("mark.cited")).to_be_visible()
    expect(panel.locator("#source-title")).to_be_focused()
    chat.page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(link).to_be_focused()

    # and back to the question box with Tab order intact: the send button follows the textbox
    textbox.focus()
    chat.page.keyboard.press("Tab")
    expect(chat.page.get_by_role("button", name="Frage senden")).to_be_focused()
    chat.assert_clean()


def test_phone_layout(phone_chat):
    chat = phone_chat
    chat.open()
    chat.screenshot("chat-phone-empty.png", full_page=False)
    turn = chat.ask(SOLDIERS, via="button")
    expect(turn.locator(".card").first).to_be_visible()
    width = chat.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"horizontal overflow on a phone: {width}px"
    chat.screenshot("chat-phone.png")

    turn.get_by_role("link", name="[1]", exact=True).tap()
    panel = chat.page.locator("#source-panel")
    expect(panel).to_be_visible()
    cited = panel.locator("mark.cited")
    expect(cited).to_be_in_viewport()
    box = panel.bounding_box()
    assert box["width"] >= 380, "the source drawer should span the phone's width"
    chat.screenshot("chat-phone-source.png", full_page=False)

    chat.page.locator("#backdrop").click(position={"x": 200, "y": 10})
    expect(panel).to_be_hidden()
    chat.assert_clean()
