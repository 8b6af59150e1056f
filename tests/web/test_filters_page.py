"""Outlet and period controls, article links, copy citation, follow-ups and "no answer" in the real browser.

The served index (see conftest.py) holds the bundled articles (mostly undated, no outlet), news
pages of Tagesblick (2025-05-21), Alpenecho (2025-03-14), Hansepost (2025-06-03) and Kreisanzeiger
(2025-02-10), the hostile JSONL article (Zoo-Zeitung, 2025-03-02) and a hostile extracted page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.conftest import _new_chat

pytestmark = pytest.mark.browser

SOLDIERS = "Wie viele nordkoreanische Soldaten sind in Russland?"
BRIDGE = "Was kostet die neue Elbbrücke in Dresden?"
BRIDGE_URL = "https://www.tagesblick.example/regional/dresden/elbbruecke-neubau-beschlossen-100.html"




def _open_filters(chat):
    chat.page.get_by_text("Eingrenzen", exact=True).click()
    controls = chat.page.locator("#filters-body")
    expect(controls).to_be_visible()
    # the outlet list comes from /api/sources once the index is ready
    expect(chat.page.locator("#filter-source option[value='Tagesblick']")).to_have_count(1)
    return controls


def _card_days(turn, cards: str = ".card") -> list[str]:
    return [t.get_attribute("datetime") for t in turn.locator(f"{cards} .card-meta time").all()]


FINDINGS = ".answer > ol.cards > .card"  # the passages that answer; the rest is set apart (.apart)


@pytest.fixture
def clip_chat(chromium, fundstelle_server):
    """The chat page allowed to write and read the clipboard."""
    context, chat = _new_chat(chromium, fundstelle_server, viewport={"width": 1366, "height": 860},
                              permissions=["clipboard-read", "clipboard-write"])
    try:
        yield chat
    finally:
        context.close()


def test_outlet_control_lists_the_outlets_and_narrows_answers(chat):
    bodies = chat.ask_bodies()
    chat.open()
    _open_filters(chat)
    source = chat.page.get_by_label("Quelle", exact=True)
    labels = source.locator("option").all_text_contents()
    assert labels[0] == "Alle Quellen"
    for outlet in ("Tagesblick (1)", "Alpenecho (1)", "Hansepost (1)", "t-online (1)", "Chas Pravdy (1)"):
        assert outlet in labels, labels

    source.select_option("Tagesblick")
    expect(chat.page.locator("#filters-state")).to_have_text("Tagesblick")
    turn = chat.ask(SOLDIERS)  # asked of an outlet that never wrote about it: its nearest passages
    expect(turn.locator(".turn-filters")).to_have_text("Eingegrenzt: Tagesblick")
    cards = turn.locator(".card")
    expect(cards.first).to_be_visible()
    for i in range(cards.count()):
        expect(cards.nth(i).locator(".meta-source")).to_have_text("Tagesblick")
    assert bodies[-1] == {"question": SOLDIERS, "top_k": 5, "filters": {"sources": ["Tagesblick"]}}
    chat.screenshot("chat-filter-outlet.png")
    chat.assert_clean()


def test_period_control_and_date_order(chat):
    bodies = chat.ask_bodies()
    chat.open()
    _open_filters(chat)
    chat.page.get_by_label("Von", exact=True).fill("2025-03-01")
    chat.page.get_by_label("Bis", exact=True).fill("2025-05-31")
    expect(chat.page.locator("#filters-state")).to_have_text("1. März 2025 – 31. Mai 2025")
    turn = chat.ask(BRIDGE)
    expect(turn.locator(".card").first).to_be_visible()
    days = _card_days(turn)
    assert days and len(days) == turn.locator(".card").count(), "every passage in a period is dated"
    assert all("2025-03-01" <= d <= "2025-05-31" for d in days), days
    assert bodies[-1]["filters"] == {"published_from": "2025-03-01", "published_to": "2025-05-31"}
    assert "sort" not in bodies[-1]

    chat.page.get_by_label("Reihenfolge").select_option("date")
    expect(chat.page.locator("#filters-state")).to_contain_text("neueste zuerst")
    with chat.page.expect_response("**/api/ask") as answered:
        newest = chat.ask(BRIDGE)
    response = answered.value.json()
    assert bodies[-1]["sort"] == "date"
    # date order shows only the passages that answer as findings, newest first, and counts only them
    answering = [p for p in response["passages"] if p["confidence"] >= 0.5]
    below = [p for p in response["passages"] if p["confidence"] < 0.5]
    findings = newest.locator(FINDINGS)
    expect(findings).to_have_count(len(answering))
    assert answering, "nothing answers the bridge question"
    days = _card_days(newest, FINDINGS)
    assert days == sorted(days, reverse=True), days
    expect(newest.locator(".answer-count")).to_have_text(
        "1 Fundstelle" if len(answering) == 1 else f"{len(answering)} Fundstellen")
    # the rest apart: collapsed, muted, nothing in them highlighted as an answer
    apart = newest.locator(".answer .apart .card")
    expect(apart).to_have_count(len(below))
    if below:
        assert newest.locator(".answer .apart").evaluate("e => e.open") is False
        assert apart.count() == newest.locator(".answer .apart .card.card-muted").count()
        expect(newest.locator(".answer .apart mark")).to_have_count(0)
        assert set(apart.locator(".card-confidence").all_text_contents()) == {"Konfidenz: unsicher"}
    chat.screenshot("chat-filter-period.png")

    # reset: everything again, and the request carries no filters
    chat.page.get_by_role("button", name="Zurücksetzen").click()
    expect(chat.page.locator("#filters-state")).to_have_text("Alle Quellen · gesamter Zeitraum")
    chat.ask(SOLDIERS)
    assert "filters" not in bodies[-1] and "sort" not in bodies[-1]
    chat.assert_clean()


def test_a_filter_without_matches_says_so(chat):
    chat.open()
    _open_filters(chat)
    chat.page.get_by_label("Quelle", exact=True).select_option("Hansepost")
    chat.page.get_by_label("Bis", exact=True).fill("2024-01-01")
    turn = chat.ask(SOLDIERS)
    expect(turn.locator(".notice-empty")).to_contain_text("Keine passende Stelle")
    expect(turn.locator(".notice-empty")).to_contain_text("Eingrenzung")
    chat.assert_clean()


def test_article_link_and_copy_citation(clip_chat):
    chat = clip_chat
    chat.open()
    turn = chat.ask(BRIDGE)
    card = turn.locator(".card").filter(has=chat.page.locator(".meta-source", has_text="Tagesblick")).first
    expect(card).to_be_visible()
    link = card.get_by_role("link", name=re.compile("Zum Artikel"))
    expect(link).to_have_attribute("href", BRIDGE_URL)
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")

    title = card.locator(".card-title").text_content()
    paragraph = re.search(r"Absatz (\d+)", card.locator(".card-meta").text_content()).group(1)
    copy = card.locator(".card-action.copy")
    expect(copy).to_have_accessible_name("Zitat kopieren")
    expect(copy).to_have_accessible_description(title)
    copy.click()
    expect(copy).to_have_text("Kopiert ✓")
    expect(chat.page.locator("#announcer")).to_have_text("Zitat in die Zwischenablage kopiert.")
    copied = chat.page.evaluate("navigator.clipboard.readText()")
    assert copied == f"„{title}“, Anna Muster, Tagesblick, 21. Mai 2025, Absatz {paragraph}. {BRIDGE_URL}"
    chat.screenshot("chat-copy-citation.png", full_page=False)
    expect(copy).to_have_text("Zitat kopieren", timeout=10_000)  # the confirmation goes again

    # from the keyboard too; an article without a URL has no link but can be cited
    soldiers = chat.ask(SOLDIERS)
    plain = soldiers.locator(".card").filter(has_not=chat.page.locator("a.external")).first
    expect(plain).to_be_visible()
    button = plain.locator(".card-action.copy")
    expect(button).to_have_accessible_name("Zitat kopieren")
    button.focus()
    chat.page.keyboard.press("Enter")
    expect(button).to_have_text("Kopiert ✓")
    copied = chat.page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("„" + plain.locator(".card-title").text_content() + "“") and "http" not in copied
    chat.assert_clean()


def test_follow_up_questions_carry_the_conversation(chat):
    bodies = chat.ask_bodies()
    chat.open()
    chat.ask(SOLDIERS)
    chat.ask("Und welche Raketen hat Nordkorea geliefert?")
    chat.ask("Wer berichtet darüber?")
    assert "history" not in bodies[0]
    assert bodies[1]["history"] == [SOLDIERS]
    assert bodies[2]["history"] == [SOLDIERS, "Und welche Raketen hat Nordkorea geliefert?"]
    for n in range(4):
        chat.ask(f"Frage {n}")
    assert len(bodies[-1]["history"]) == 5 and bodies[-1]["history"][-1] == "Frage 2"
    chat.assert_clean()


def test_an_answer_without_answer_found_renders_as_an_answer(chat):
    """A service that predates `answer_found` (the real response with the field taken out): an
    ordinary answer, no notice, no muted cards."""
    def older_service(route):
        response = route.fetch()
        body = response.json()
        body.pop("answer_found", None)
        for passage in body["passages"]:
            passage.pop("confidence", None)
        route.fulfill(response=response, json=body)

    chat.page.route("**/api/ask", older_service)
    chat.open()
    turn = chat.ask(SOLDIERS)
    expect(turn.locator(".answer:not(.is-nearest) .card").first).to_be_visible()
    expect(turn.locator(".notice")).to_have_count(0)
    expect(turn.locator(".card-muted")).to_have_count(0)
    chat.assert_clean()


def test_no_answer_shows_a_notice_and_the_nearest_passages_as_such(chat):
    """A question the archive cannot answer: the service says `"answer_found": false` (issue 12) and
    the page says so plainly, with the nearest passages visibly set apart."""
    responses = []
    chat.page.on("response", lambda r: responses.append(r) if r.url.endswith("/api/ask") else None)
    chat.open()
    answered = chat.ask(SOLDIERS)
    expect(answered.locator(".notice-none")).to_have_count(0)
    assert responses[-1].json()["answer_found"] is True

    turn = chat.ask("Wer gewann die Fußball-Weltmeisterschaft 1954?")
    body = responses[-1].json()
    assert body["answer_found"] is False, "the service finds an answer to the football question"
    notice = turn.locator(".notice-none")
    expect(notice.locator(".notice-title")).to_have_text("Keine Antwort im Archiv")
    expect(notice).to_contain_text("Nichts im Archiv beantwortet diese Frage.")
    expect(notice).to_contain_text("am nächsten")
    answer = turn.locator(".answer.is-nearest")
    expect(answer).to_have_attribute("aria-label", "Nächstgelegene Stellen, keine Antwort")
    expect(answer.locator(".answer-meta")).to_contain_text("nächstgelegene Stellen")
    expect(answer.locator(".answer-meta")).not_to_contain_text("Fundstelle")  # nothing counted as a finding
    cards = answer.locator(".card")
    expect(cards).to_have_count(len(body["passages"]))
    assert cards.count() == answer.locator(".card.card-muted").count() >= 1
    expect(answer.locator("mark")).to_have_count(0)  # nothing highlighted as if it answered
    style = cards.first.locator(".card-inner").evaluate("e => getComputedStyle(e).borderTopStyle")
    assert style == "dashed", "the nearest passages look different from an answer's"
    chat.screenshot("chat-no-answer.png")
    chat.assert_clean()


def test_extracted_hostile_page_stays_inert(clip_chat, hostile_page):
    chat = clip_chat
    chat.open()
    _open_filters(chat)
    # its outlet name (with markup) is an option's text, nothing more
    option = chat.page.locator("#filter-source option").filter(has_text="Stadtbote")
    expect(option).to_have_text(re.compile(re.escape(hostile_page.source)))
    chat.page.get_by_label("Quelle", exact=True).select_option(hostile_page.source)
    turn = chat.ask(hostile_page.question)
    card = turn.locator(".card").first
    expect(card.locator(".card-title")).to_have_text(hostile_page.title)
    expect(card.locator(".card-meta")).to_contain_text(hostile_page.source)
    expect(turn.locator(".turn-filters")).to_contain_text(hostile_page.source)
    texts = " ".join(turn.locator(".passage-text").all_text_contents())
    assert "<script>window.__pwned=1</script>" in texts or '<img src=x onerror="window.__pwned=1">' in texts
    expect(card.get_by_role("link", name=re.compile("Zum Artikel"))).to_have_count(0)  # no http(s) URL

    card.get_by_role("button", name="Zitat kopieren").click()
    expect(card.locator(".card-action.copy")).to_have_text("Kopiert ✓")
    copied = chat.page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(f"„{hostile_page.title}“, {hostile_page.source}, 8. April 2025, Absatz ")

    card.locator(".cite").click()
    panel = chat.page.locator("#source-panel")
    expect(panel.locator("#source-title")).to_have_text(hostile_page.title)
    expect(panel.locator("mark.cited")).to_be_visible()
    chat.page.keyboard.press("Escape")

    # the archive view lists its outlet and title as text too, and the article opens inert
    chat.page.get_by_role("link", name="Archiv").click()
    outlet = chat.page.locator("#archive .outlet").filter(has_text="Stadtbote")
    expect(outlet.locator(".outlet-name")).to_have_text(hostile_page.source)
    row = chat.page.locator("#archive .doc").filter(has_text="Bibliothek")
    expect(row.locator(".doc-title")).to_have_text(hostile_page.title)
    row.locator(".doc-title").click()
    expect(panel.locator("#source-title")).to_have_text(hostile_page.title)
    expect(panel.locator("#source-text .para").first).to_be_visible()
    chat.page.keyboard.press("Escape")

    assert chat.page.evaluate("typeof window.__pwned") == "undefined"
    for area in ("#conversation", "#source-panel", "#ask-form", "#archive", "#intro"):
        assert chat.page.locator(f"{area} :is(img, script, b, i, iframe, object, embed)").count() == 0, area
    assert chat.page.locator("[onerror], [onload], [onclick]").count() == 0
    chat.assert_clean()


def test_only_http_links_reach_the_cards(chat, hostile):
    """The hostile JSONL article's https URL (with markup in its query) becomes an encoded link;
    a javascript: URL in a response never becomes one."""
    chat.open()
    turn = chat.ask(hostile.question)
    card = turn.locator(".card").filter(has_text=hostile.script).first
    link = card.get_by_role("link", name=re.compile("Zum Artikel"))
    expect(link).to_have_attribute("href", re.compile(r"^https://zoo\.example/kiri\?quelle=%3Cb%3Etest%3C/b%3E$"))

    def javascript_urls(route):
        response = route.fetch()
        body = response.json()
        for passage in body["passages"]:
            passage["citation"]["url"] = "javascript:window.__pwned=1"
        route.fulfill(response=response, json=body)

    chat.page.route("**/api/ask", javascript_urls)
    poisoned = chat.ask(hostile.question)
    expect(poisoned.locator(".card").first).to_be_visible()
    expect(poisoned.get_by_role("link", name=re.compile("Zum Artikel"))).to_have_count(0)
    assert chat.page.locator("a[href^='javascript:']").count() == 0
    assert chat.page.evaluate("typeof window.__pwned") == "undefined"
    chat.assert_clean()


def test_filters_on_a_phone(phone_chat):
    chat = phone_chat
    chat.open()
    chat.page.get_by_text("Eingrenzen", exact=True).tap()
    expect(chat.page.locator("#filter-source option[value='Alpenecho']")).to_have_count(1)
    chat.page.get_by_label("Quelle", exact=True).select_option("Alpenecho")
    turn = chat.ask("Wie schnell schmelzen die Gletscher?", via="button")
    expect(turn.locator(".card").first).to_be_visible()
    width = chat.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"horizontal overflow on a phone: {width}px"
    chat.screenshot("chat-phone-filters.png")
    chat.assert_clean()
