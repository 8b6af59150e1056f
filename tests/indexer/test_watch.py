"""Following feeds over real HTTP: new items are indexed once, a restart fetches and embeds nothing again."""

from __future__ import annotations

import json
import threading

import pytest

from indexer.ingest.fetch import Fetcher, FetchLimits
from indexer.ingest.readers import ReadError
from indexer.ingest.watch import known_in_index, parse_interval, watch
from tests.fixtures.web.server import BIG_BYTES

LIMITS = FetchLimits(connect_timeout=2, read_timeout=0.5, total_timeout=1.5, max_bytes=BIG_BYTES - 1000)
GOOD_ITEMS = ["/news/tagesblick_elbbruecke.html", "/news/kurzmeldung_ohne_metadaten.html", "/news/hansepost_hafen.html"]


@pytest.fixture
def fetcher():
    with Fetcher(LIMITS) as f:
        yield f


class Collector:
    """An index_fn that keeps what it is handed (the real index is used in the last test)."""

    def __init__(self, fail: bool = False):
        self.batches: list[list] = []
        self.fail = fail

    def __call__(self, articles):
        if self.fail:
            raise RuntimeError("index is busy")
        self.batches.append(articles)
        return f"{len(articles)} indexed"


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("1h30m", 5400),
                                               ("2d", 172800), ("45", 45), ("0.5s", 0.5), (" 15 min ", 900)])
def test_parse_interval(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "15x", "m", "-5m", "0s", "15m!", "1h 30"])
def test_a_bad_interval_is_a_clear_error(text):
    with pytest.raises(ValueError, match="interval"):
        parse_interval(text)


def test_new_items_are_handed_over_once_and_failures_retried(web, fetcher, tmp_path):
    collector, state = Collector(), tmp_path / "watch.json"
    feeds = [web.url("/feeds/rss.xml")]
    rounds = watch(feeds, 0.01, collector, state, max_rounds=2, fetcher=fetcher)
    first, second = rounds
    assert [a.title for a in collector.batches[0]] == ["Neue Elbbrücke: Stadtrat gibt grünes Licht für Neubau",
                                                       "Kreistag beschließt neues Gymnasium",
                                                       "Hamburger Hafen: Umschlag bricht im ersten Quartal ein"]
    assert first.report == "3 indexed" and len(first.new) == 3 and first.known == 0
    assert {e.origin.removeprefix(web.base) for e in first.errors} == {
        "/news/geloescht.html", "/files/geschaeftsbericht.pdf", "/big", "/slow", "/loop/a"}
    assert (second.new, second.known, second.report, len(collector.batches)) == ([], 3, None, 1)
    assert len(second.errors) == 5  # the failing items are tried again, the good ones are not
    saved = json.loads(state.read_text())["items"]
    assert sorted(saved) == sorted([web.url(GOOD_ITEMS[0]), web.url(GOOD_ITEMS[1]), web.url("/redirect/hafen")])
    assert all(set(v) == {"doc_id", "hash", "at"} for v in saved.values())


def test_a_restart_fetches_nothing_it_handed_over_before(web, fetcher, tmp_path):
    state, feeds = tmp_path / "watch.json", [web.url("/feeds/rss.xml"), web.url("/feeds/atom.xml")]
    watch(feeds, 0.01, Collector(), state, max_rounds=1, fetcher=fetcher)
    before = {path: web.hits[path] for path in [*GOOD_ITEMS, "/news/alpenecho_gletscher.html", "/redirect/hafen"]}
    again = Collector()
    (restart,) = watch(feeds, 0.01, again, state, max_rounds=1, fetcher=fetcher)
    assert again.batches == [] and restart.known == 5 and restart.new == []
    assert {path: web.hits[path] for path in before} == before  # not one item page fetched again


def test_the_index_is_asked_which_items_it_holds(web, fetcher):
    collector = Collector()
    (result,) = watch([web.url("/feeds/atom.xml")], 0.01, collector, None, max_rounds=1, fetcher=fetcher,
                      known=lambda url: "gletscher" in url)
    assert result.known == 1 and [a.title for a in collector.batches[0]] == ["Stadtwerke erhöhen die Wasserpreise"]


def test_the_same_text_under_a_second_url_is_handed_over_once(web, fetcher, tmp_path):
    page = web.url("/news/alpenecho_gletscher.html")
    web.overrides["/feeds/twice.xml"] = ("application/rss+xml", (
        '<rss version="2.0"><channel><title>Zweimal</title>'
        f"<item><title>A</title><link>{page}</link></item>"
        f"<item><title>B</title><link>{page}?ref=startseite</link></item>"
        f"<item><title>C</title><link>{page}?utm_source=x#kommentare</link></item>"
        "</channel></rss>").encode())
    collector = Collector()
    (result,) = watch([web.url("/feeds/twice.xml")], 0.01, collector, tmp_path / "s.json", max_rounds=1,
                      fetcher=fetcher)
    assert len(collector.batches[0]) == 1 and result.duplicates == 1 and result.known == 1  # C is A's URL


def test_a_failing_index_call_keeps_the_items_for_the_next_round(web, fetcher, tmp_path):
    state = tmp_path / "watch.json"
    (failed,) = watch([web.url("/feeds/atom.xml")], 0.01, Collector(fail=True), state, max_rounds=1, fetcher=fetcher)
    assert failed.new == [] and failed.errors == [ReadError("index", "indexing 2 new items failed: RuntimeError: "
                                                                     "index is busy")]
    retry = Collector()
    (ok,) = watch([web.url("/feeds/atom.xml")], 0.01, retry, state, max_rounds=1, fetcher=fetcher)
    assert len(ok.new) == 2 and len(retry.batches[0]) == 2


def test_feed_failures_do_not_stop_the_watcher_and_stop_event_ends_it(web, fetcher, tmp_path):
    stop_event = threading.Event()
    seen = []

    def on_round(result):
        seen.append(result)
        if len(seen) == 2:
            stop_event.set()

    rounds = watch([web.url("/feeds/weg.xml"), web.url("/files/x.pdf")], 0.01, Collector(), tmp_path / "s.json",
                   stop_event=stop_event, fetcher=fetcher, on_round=on_round)
    assert len(rounds) == 2 == len(seen)
    assert [e.reason for e in rounds[0].errors] == ["HTTP 404 Not Found", "unsupported content type application/pdf; "
                                                    "only HTML pages and RSS/Atom feeds"]


def test_one_state_file_one_watcher(tmp_path):
    from filelock import FileLock

    state = tmp_path / "watch.json"
    with FileLock(f"{state}.lock"), pytest.raises(RuntimeError, match="another watcher is using"):
        watch(["x.xml"], 1, Collector(), state, max_rounds=1)


def test_a_damaged_state_file_is_named(tmp_path):
    state = tmp_path / "watch.json"
    state.write_text("{nicht json")
    with pytest.raises(ValueError, match="cannot read the watch state"):
        watch(["x.xml"], 1, Collector(), state, max_rounds=1)


def test_watching_into_the_real_index_embeds_each_item_once(web, fetcher, tmp_path, embedder):
    """The real pipeline: passages hold the prose and no boilerplate; after a restart without a state file
    the index alone (known_in_index) keeps the items from being fetched or embedded again."""
    from core.settings import Settings
    from indexer.pipeline import ArticleIndexer
    from store.index import Index

    index = Index.open(tmp_path / "index", embedder, create=True)
    try:
        indexer = ArticleIndexer(index, Settings(index_dir=index.folder))
        known = known_in_index(index.store.content_hashes)
        (first,) = watch([web.url("/feeds/atom.xml")], 0.01, indexer.run, None, max_rounds=1, fetcher=fetcher,
                         known=known)
        assert len(first.report.added) == 2 and first.report.errors == []
        hits = web.hits["/news/alpenecho_gletscher.html"]
        (again,) = watch([web.url("/feeds/atom.xml")], 0.01, indexer.run, None, max_rounds=1, fetcher=fetcher,
                         known=known)
        assert again.known == 2 and again.report is None and web.hits["/news/alpenecho_gletscher.html"] == hits
        for doc_id in first.report.added:
            document = index.store.document(doc_id)
            passages = [document["text"][p["char_start"] : p["char_end"]] for p in document["passages"]]
            joined = " ".join(passages)
            assert "alert" not in joined and "Werbung" not in joined and "Leserkommentare" not in joined
            assert "Glaziologe Wilfried Hagg" in joined or "Die Stadtwerke erhöhen zum 1. April" in joined
    finally:
        index.close()
