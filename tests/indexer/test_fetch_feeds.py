"""Pages and feeds over real HTTP (a server on 127.0.0.1): each failure is reported by URL and reason,
the rest is read; nothing of the boilerplate reaches the text, all the prose does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from indexer.ingest.feeds import canonical_item_url, doc_id_for_url, is_feed
from indexer.ingest.fetch import USER_AGENT, Fetched, Fetcher, FetchLimits
from indexer.ingest.readers import ReadError, read_articles, read_inputs
from indexer.ingest.schema import DOC_ID_MAX, DOC_ID_PATTERN
from tests.fixtures.web.server import BIG_BYTES

WEB = Path(__file__).resolve().parent.parent / "fixtures" / "web"
EXPECTED = json.loads((WEB / "expected.json").read_text(encoding="utf-8"))
# Small limits so that the slow, dripping and large pages fail fast.
LIMITS = FetchLimits(connect_timeout=2, read_timeout=0.5, total_timeout=1.5, max_bytes=BIG_BYTES - 1000,
                     max_redirects=3)


@pytest.fixture
def fetcher():
    with Fetcher(LIMITS) as f:
        yield f


def split(items):
    items = list(items)
    return [i for i in items if not isinstance(i, ReadError)], [i for i in items if isinstance(i, ReadError)]


def squash(value: str) -> str:
    return re.sub(r"\s+", " ", value)


def assert_clean(article, fixture: str):
    expected = EXPECTED[fixture]
    text = squash(article.text)
    assert all(p in text for p in expected["prose"]), fixture
    assert not [b for b in expected["boilerplate"] if b in article.text], fixture


def test_a_page_url_is_fetched_and_extracted(web, fetcher):
    url = web.url("/news/tagesblick_elbbruecke.html")
    (article,) = read_inputs([url], fetcher)
    assert article.doc_id == doc_id_for_url(url) and article.origin == url
    assert (article.title, article.source, article.published, article.url) == (
        "Neue Elbbrücke: Stadtrat gibt grünes Licht für Neubau", "Tagesblick", "2025-05-21",
        "https://www.tagesblick.example/regional/dresden/elbbruecke-neubau-beschlossen-100.html")
    assert_clean(article, "tagesblick_elbbruecke.html")
    assert USER_AGENT in web.user_agents and USER_AGENT == "Fundstelle/0.1 (+https://github.com/fundstelle)"


@pytest.mark.parametrize(("path", "final"), [("/redirect/hafen", "/news/hansepost_hafen.html"),
                                             ("/chain/2", "/news/tagesblick_elbbruecke.html")])
def test_redirects_are_followed_up_to_the_limit(web, fetcher, path, final):
    fetched = fetcher.fetch(web.url(path))
    assert isinstance(fetched, Fetched) and fetched.url == web.url(final) and fetched.kind == "html"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/news/geloescht.html", "HTTP 404 Not Found"),
        ("/files/bericht.pdf", "not a readable PDF"),  # a PDF URL is read now (issue 19); this one is junk
        ("/images/logo.png", "unsupported content type image/png"),
        ("/no-type", "unsupported content type (none given)"),
        ("/big", f"too large ({BIG_BYTES + 33} bytes; the limit is {BIG_BYTES - 1000} bytes)"),
        ("/big-chunked", f"too large (more than {BIG_BYTES - 1000} bytes, the limit)"),
        ("/slow", "timed out waiting for the server (no data for 0.5 s)"),
        ("/drip", "took longer than 1.5 s"),
        ("/chain/3", "too many redirects (more than 3)"),
        ("/to-ftp", "redirected to ftp://127.0.0.1/pub/artikel.html: only http and https URLs can be fetched"),
        ("/feeds/not-a-feed.xml", "a application/xml document that is not an RSS or Atom feed"),
    ],
)
def test_each_failure_is_reported_by_url_and_reason(web, fetcher, path, reason):
    url = web.url(path)
    (error,) = read_inputs([url], fetcher)
    assert isinstance(error, ReadError) and error.origin == url and error.reason.startswith(reason), error


def test_a_redirect_loop_is_named_as_such(web, fetcher):
    (error,) = read_inputs([web.url("/loop/a")], fetcher)
    assert error.reason == (f"redirect loop ({web.url('/loop/a')} -> {web.url('/loop/b')} -> {web.url('/loop/a')})")


def test_urls_that_cannot_be_fetched_are_reported_without_a_request(web, fetcher, tmp_path):
    items = list(read_inputs(["ftp://127.0.0.1/a.html", "file:///etc/passwd", "https://"], fetcher))
    assert [(e.origin, e.reason) for e in items] == [
        ("ftp://127.0.0.1/a.html", "only http and https URLs can be fetched, not ftp:"),
        ("file:///etc/passwd", "only http and https URLs can be fetched, not file:"),
        ("https://", "invalid URL (no host)"),
    ]
    (error,) = read_articles([web.url("/news/tagesblick_elbbruecke.html")])  # no fetcher: nothing is fetched
    assert error.reason == "fetching URLs is not enabled here"


def test_a_closed_port_is_a_connection_error(fetcher):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (error,) = read_inputs([f"http://127.0.0.1:{port}/x"], fetcher)
    assert error.reason.startswith("cannot connect")


def test_an_rss_feed_indexes_its_items_and_reports_each_failing_one(web, fetcher):
    articles, errors = split(read_inputs([web.url("/feeds/rss.xml")], fetcher))
    assert [a.title for a in articles] == ["Neue Elbbrücke: Stadtrat gibt grünes Licht für Neubau",
                                           "Kreistag beschließt neues Gymnasium",
                                           "Hamburger Hafen: Umschlag bricht im ersten Quartal ein"]
    assert_clean(articles[0], "tagesblick_elbbruecke.html")
    assert_clean(articles[2], "hansepost_hafen.html")
    reasons = {e.origin.removeprefix(web.base): e.reason for e in errors}
    assert list(reasons) == ["/news/geloescht.html", "/files/geschaeftsbericht.pdf", "/big", "/slow", "/loop/a"]
    assert reasons["/news/geloescht.html"] == "HTTP 404 Not Found"
    assert "application/pdf" in reasons["/files/geschaeftsbericht.pdf"] and "too large" in reasons["/big"]
    assert "timed out" in reasons["/slow"] and "redirect loop" in reasons["/loop/a"]
    # the item URL names the article: tracking parameters do not change its doc_id
    assert articles[0].doc_id == doc_id_for_url(web.url("/news/tagesblick_elbbruecke.html"))
    assert articles[2].doc_id == doc_id_for_url(web.url("/redirect/hafen"))


def test_feed_metadata_fills_what_the_page_does_not_state(web, fetcher):
    articles, _ = split(read_inputs([web.url("/feeds/rss.xml")], fetcher))
    school = next(a for a in articles if "Gymnasium" in a.title)
    assert (school.title, school.source, school.published, school.url) == (
        "Kreistag beschließt neues Gymnasium", "Tagesblick – Regionales", "2025-05-12",
        web.url("/news/kurzmeldung_ohne_metadaten.html"))
    assert "Die Baukosten werden auf 61 Millionen Euro geschätzt." in school.text
    assert "Impressum" not in school.text and "Archiv" not in school.text


def test_an_atom_feed(web, fetcher):
    articles, errors = split(read_inputs([web.url("/feeds/atom.xml")], fetcher))
    assert errors == [] and [a.source for a in articles] == ["Alpenecho", "Kreisanzeiger"]
    assert_clean(articles[0], "alpenecho_gletscher.html")
    assert_clean(articles[1], "hostile_page.html")


def test_a_feed_is_recognised_by_its_content_not_its_type_or_name(web, fetcher, tmp_path):
    as_html = [a.doc_id for a in read_inputs([web.url("/feeds/rss-as-html")], fetcher) if not isinstance(a, ReadError)]
    assert len(as_html) == 3
    feed_file = tmp_path / "regional.xml"
    feed_file.write_bytes(web.feed("rss.xml"))
    from_file = [a.doc_id for a in read_inputs([feed_file], fetcher) if not isinstance(a, ReadError)]
    assert from_file == as_html
    (tmp_path / "sitemap.xml").write_bytes(b'<?xml version="1.0"?><urlset><url>x</url></urlset>')
    (error,) = [e for e in read_inputs([tmp_path / "sitemap.xml"], fetcher)]
    assert error.reason == "not an RSS or Atom feed (no <rss> or <feed> root element)"


def test_a_feed_file_without_a_fetcher_reports_each_item(web, tmp_path):
    feed_file = tmp_path / "regional.rss"
    feed_file.write_bytes(web.feed("rss.xml"))
    items = list(read_articles([tmp_path]))
    assert len(items) == 8 and all(e.reason == "fetching URLs is not enabled here" for e in items)


def test_feed_sniffing():
    assert is_feed(b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- c -->\n<rss version="2.0"><channel/></rss>')
    assert is_feed(b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>')
    assert is_feed(b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="x"></rdf:RDF>')
    assert not is_feed(b"<!DOCTYPE html><html><body>rss feed</body></html>")
    assert not is_feed(b"%PDF-1.7") and not is_feed(b"")


@pytest.mark.parametrize(
    "url",
    ["https://www.tagesblick.example/regional/dresden/elbbruecke-neubau-beschlossen-100.html",
     "https://example.org/", "https://example.org/artikel.php?id=42", "https://example.org/Über-uns/Straße.html",
     "https://example.org/" + "sehr-lang-" * 60, "https://example.org/../..%2F..", "http://127.0.0.1:8080/x"],
)
def test_doc_ids_from_urls_are_valid_stable_and_readable(url):
    doc_id = doc_id_for_url(url)
    assert re.match(DOC_ID_PATTERN, doc_id) and ".." not in doc_id and len(doc_id) <= DOC_ID_MAX
    assert doc_id == doc_id_for_url(url + "#kommentare") == doc_id_for_url(url + ("&" if "?" in url else "?")
                                                                           + "utm_source=rss")
    assert re.fullmatch(r"[a-z0-9-]+-[0-9a-f]{12}", doc_id)


def test_doc_ids_tell_articles_apart():
    assert doc_id_for_url("https://a.example/x.html") != doc_id_for_url("https://b.example/x.html")
    assert doc_id_for_url("https://a.example/p?id=1") != doc_id_for_url("https://a.example/p?id=2")
    assert doc_id_for_url("https://a.example/elbe-100.html").startswith("elbe-100-")
    assert canonical_item_url("HTTPS://A.example/x?utm_medium=feed&b=2#top") == "https://a.example/x?b=2"
