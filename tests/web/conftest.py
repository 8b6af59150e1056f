"""Browser tests of the chat page: a real service on loopback, a real index, a real chromium.

The session runs ``fundstelle index`` (tests.conftest.cli_here: in this process, with its model) on
the bundled corpus, one hostile JSONL article (markup and script in its title, source and text), the
news pages of tests/fixtures/web (outlets with dates and URLs: Tagesblick, Alpenecho, Hansepost,
Kreisanzeiger) and one hostile news page whose extracted title, outlet and text carry markup
(``hostile_extracted.html``), then serves it as ``fundstelle serve`` does (tests.conftest.serve_here:
uvicorn in a thread of this process) on a free loopback port, and drives Debian's chromium
(``/usr/bin/chromium``) through Playwright.

Set ``FUNDSTELLE_WEB_BASE_URL`` to run the tests against an already running service
instead (it must serve an index holding the same corpus and hostile article).
"""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import cli_here, serve_here, served_settings, stop_server

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_CORPUS = REPO_ROOT / "data" / "corpus"
ARTIFACTS = REPO_ROOT / "artifacts"
NEWS_PAGES = [REPO_ROOT / "tests" / "fixtures" / "web" / name for name in (
    "tagesblick_elbbruecke.html", "alpenecho_gletscher.html", "hansepost_hafen.html", "hostile_page.html",
    "kurzmeldung_ohne_metadaten.html")]
HOSTILE_PAGE = Path(__file__).resolve().parent / "hostile_extracted.html"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 30_000

# One article whose title, source and text carry markup and script. It must be shown
# literally and never run. Its topic (an elephant calf in Leipzig zoo) is unique in the
# corpus, so a question about it retrieves it.
HOSTILE_SCRIPT = "<script>window.__pwned=1</script>"
HOSTILE_IMG = '<img src=x onerror="window.__pwned=1">'
HOSTILE = {
    "id": "hostile",
    "title": "Feindlicher <b>Titel</b>",
    "source": "Zoo-Zeitung <img src=x onerror=\"window.__pwned=1\">",
    "published": "2025-03-02",
    "url": "https://zoo.example/kiri?quelle=<b>test</b>",
    "text": (
        "Der Zoo Leipzig meldet die Geburt eines Elefanten namens Kiri. "
        f"Das Elefantenkalb {HOSTILE_SCRIPT} kam in der Nacht zum Sonntag im Elefantentempel "
        f"Ganesha Mandir zur Welt {HOSTILE_IMG} und wog bei der Geburt 110 Kilogramm.\n"
        "Die Tierpfleger berichten, dass das kleine Elefantenkalb bereits nach einer Stunde "
        "selbstständig laufen konnte und regelmäßig bei seiner Mutter trinkt.\n"
        "Besucher können das Jungtier ab der kommenden Woche in der Elefantenanlage des "
        "Leipziger Zoos beobachten, sagte der Zoodirektor."
    ),
}
HOSTILE_QUESTION = "Wie heißt das Elefantenkalb, das im Zoo Leipzig geboren wurde?"
# What indexer/ingest/html.py extracts from HOSTILE_PAGE: entity-escaped markup becomes literal text.
EXTRACTED_TITLE = "Bibliothek <script>window.__pwned=1</script> öffnet sonntags"
EXTRACTED_SOURCE = 'Stadtbote <img src=x onerror="window.__pwned=1">'
EXTRACTED_QUESTION = "Wann öffnet die Stadtbibliothek sonntags und was kostet das?"


def _server_env() -> dict[str, str]:
    # The page cannot send tokens: the server runs without a read token (see served_settings).
    return {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


@dataclass
class Server:
    base_url: str
    index_dir: Path | None = None
    log: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)


@pytest.fixture(scope="session")
def fundstelle_server(tmp_path_factory: pytest.TempPathFactory):
    """The real service on loopback over a real index of the corpus plus the hostile article."""
    external = os.environ.get("FUNDSTELLE_WEB_BASE_URL")
    if external:
        yield Server(base_url=external.rstrip("/"))
        return

    work = tmp_path_factory.mktemp("fundstelle-web")
    hostile_file = work / "hostile.jsonl"
    hostile_file.write_text(json.dumps(HOSTILE, ensure_ascii=False) + "\n", encoding="utf-8")
    index_dir = work / "index"
    env = _server_env()

    pages = [str(p) for p in (*NEWS_PAGES, HOSTILE_PAGE)]
    cli_here("index", str(BUNDLED_CORPUS), str(hostile_file), *pages, "--index-dir", str(index_dir), env=env)
    running = serve_here(served_settings(index_dir))
    try:
        yield Server(base_url=running.url, index_dir=index_dir)
    finally:
        stop_server(running)


@contextmanager
def serve_archive(work: Path, inputs: list[Path]):
    """``fundstelle index INPUTS`` into WORK/index and ``fundstelle serve`` it: an archive other than the
    bundled one, for a test module that needs its own articles."""
    index_dir = work / "index"
    env = _server_env()
    cli_here("index", *map(str, inputs), "--index-dir", str(index_dir), env=env)
    running = serve_here(served_settings(index_dir))
    try:
        yield Server(base_url=running.url, index_dir=index_dir)
    finally:
        stop_server(running)


@pytest.fixture(scope="session")
def hostile():
    """The hostile article as indexed, its two payloads and a question that retrieves it."""
    return SimpleNamespace(article=HOSTILE, script=HOSTILE_SCRIPT, img=HOSTILE_IMG, question=HOSTILE_QUESTION)


@pytest.fixture(scope="session")
def hostile_page():
    """The hostile news page as extracted: its title and outlet as stored, and a question that finds it."""
    return SimpleNamespace(title=EXTRACTED_TITLE, source=EXTRACTED_SOURCE, question=EXTRACTED_QUESTION,
                           doc_id=HOSTILE_PAGE.stem)


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# Records what a page reports about security policy violations, from before any page script runs.
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@dataclass
class Chat:
    """A chat page plus everything it logged."""

    page: object
    base_url: str
    console: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    requests: list = field(default_factory=list)

    def open(self):
        response = self.page.goto(self.base_url + "/")
        self.page.get_by_role("textbox", name="Ihre Frage").wait_for()
        return response

    @property
    def textbox(self):
        return self.page.get_by_role("textbox", name="Ihre Frage")

    def turns(self):
        return self.page.locator("#conversation .turn")

    def ask(self, question: str, *, via: str = "enter"):
        """Type a question, send it, wait for its answer (or notice); returns the turn."""
        before = self.turns().count()
        self.textbox.fill(question)
        if via == "enter":
            self.textbox.press("Enter")
        else:
            self.page.get_by_role("button", name="Frage senden").click()
        turn = self.turns().nth(before)
        turn.locator(".answer, .timeline, .notice").first.wait_for()
        return turn

    def console_errors(self) -> list[str]:
        return [m.text for m in self.console if m.type == "error"]

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__cspViolations || []"))

    def assert_clean(self) -> None:
        """No script errors, no CSP violations, no console errors."""
        assert self.errors == [], f"page errors: {self.errors}"
        assert self.csp_violations() == [], f"CSP violations: {self.csp_violations()}"
        assert self.console_errors() == [], f"console errors: {self.console_errors()}"

    def ask_bodies(self) -> list[dict]:
        """The JSON body of every POST /api/ask the page sends from now on (the list fills as it does)."""
        bodies: list[dict] = []
        self.page.on("request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/api/ask") else None)
        return bodies

    def article_text(self) -> str:
        """The article view's text as shown: its prose, headings and the collapsed left-out lines, in order."""
        return self.page.locator("#source-text").evaluate(
            "e => [...e.querySelectorAll('.para, .left-out-line')].map(n => n.textContent).join('\\n')")

    def assert_in_view(self, turn) -> None:
        """A new answer is in view whole: its turn starts right under the top bar, or ends above the
        composer (a turn taller than the window starts at its top; a short one shows whole)."""
        top_bar = self.page.locator(".topbar").bounding_box()
        composer = self.page.locator("#ask-form").bounding_box()
        box = turn.bounding_box()
        starts_at_top = top_bar["y"] + top_bar["height"] - 2 <= box["y"] <= top_bar["y"] + top_bar["height"] + 40
        whole = box["y"] >= top_bar["y"] + top_bar["height"] - 2 and box["y"] + box["height"] <= composer["y"] + 2
        assert starts_at_top or whole, f"turn at {box}, top bar {top_bar}, composer {composer}"
        first = turn.locator(".card, .tl-row").first.bounding_box()
        assert first["y"] + first["height"] <= composer["y"] + 2, "the first passage is hidden under the composer"

    def save_docs_screenshot(self, name: str) -> Path:
        """Save ``docs/NAME`` (the README shows it), so the picture stays current with the page. The answer's
        timing is hidden in it (it differs on every run), so the file changes only when the page does."""
        path = REPO_ROOT / "docs" / name
        hide = "v => document.querySelectorAll('.answer-took').forEach(e => { e.style.visibility = v; })"
        self.page.evaluate(hide, "hidden")  # the CSSOM, not a <style> tag: the page's CSP allows no inline styles
        picture = self.page.screenshot()
        self.page.evaluate(hide, "")
        if not path.is_file() or path.read_bytes() != picture:
            path.write_bytes(picture)
        return path

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        """Save ``artifacts/NAME``; a full page shot grows the viewport so sticky parts stay in place."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        if not full_page:
            self.page.screenshot(path=str(path))
            return path
        size = self.page.viewport_size
        height = self.page.evaluate("Math.ceil(document.documentElement.scrollHeight)")
        self.page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
        try:
            self.page.wait_for_timeout(150)
            self.page.screenshot(path=str(path))
        finally:
            self.page.set_viewport_size(size)
        return path


def _new_chat(browser, server: Server, **context_options) -> tuple[object, Chat]:
    context = browser.new_context(locale="de-DE", reduced_motion="reduce", **context_options)
    context.set_default_timeout(UI_TIMEOUT_MS)
    context.add_init_script(CSP_PROBE)
    page = context.new_page()
    chat = Chat(page=page, base_url=server.base_url)
    page.on("console", lambda message: chat.console.append(message))
    page.on("pageerror", lambda error: chat.errors.append(error))
    page.on("request", lambda request: chat.requests.append(request.url))
    return context, chat


@pytest.fixture
def chat(chromium, fundstelle_server):
    """The chat page on a laptop-sized viewport."""
    context, chat = _new_chat(chromium, fundstelle_server, viewport={"width": 1366, "height": 860})
    try:
        yield chat
    finally:
        context.close()


@pytest.fixture
def phone_chat(chromium, fundstelle_server):
    """The chat page on a phone-sized touch viewport."""
    context, chat = _new_chat(
        chromium, fundstelle_server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
        device_scale_factor=2,
    )
    try:
        yield chat
    finally:
        context.close()
