"""`fundstelle index URL|FEED...` and `fundstelle watch` (the commands' code, in this process with the
session's model: cli_here) against a real web server on 127.0.0.1: pages and feeds are indexed, each
failure is reported by URL and reason, a second round of `watch` fetches and embeds nothing again, and a
run that indexes nothing says so."""

import json

from tests.conftest import cli_here as cli
from tests.fixtures.web.server import BIG_BYTES

# The feed's "/big" item is a page larger than this: it is refused by size, as an over-large page should be.
LIMIT = {"FUNDSTELLE_FETCH_MAX_BYTES": str(BIG_BYTES // 2)}


def test_index_pages_and_a_feed_by_url_and_report_each_failure(web, tmp_path):
    folder = tmp_path / "index"
    result = cli("index", web.url("/news/hansepost_hafen.html"), web.url("/feeds/atom.xml"),
                 web.url("/news/missing.html"), web.url("/files/report.pdf"), "--index-dir", str(folder), "--quiet",
                 check=False)
    assert result.returncode == 2  # some inputs failed, the rest is indexed (issue 19)
    assert "added" in result.stdout and " 0 added" not in result.stdout
    assert "missing.html" in result.stderr and "404" in result.stderr
    assert "report.pdf" in result.stderr and "application/pdf" in result.stderr
    answer = json.loads(cli("ask", "Wie viele Container hat der Hamburger Hafen im ersten Quartal umgeschlagen?",
                            "--index-dir", str(folder), "--json").stdout)
    assert answer["passages"] and all(p["citation"]["url"] for p in answer["passages"][:1])


def test_watch_indexes_new_items_once(web, tmp_path):
    folder = tmp_path / "index"
    first = cli("watch", web.url("/feeds/rss.xml"), "--rounds", "1", "--every", "1s", "--index-dir", str(folder),
                env=LIMIT)
    assert "round 1:" in first.stdout and " 0 new" not in first.stdout
    assert "/big" in first.stderr and "too large" in first.stderr
    indexed = ["/news/tagesblick_elbbruecke.html", "/news/kurzmeldung_ohne_metadaten.html", "/news/hansepost_hafen.html"]
    before = {path: web.hits[path] for path in indexed + ["/feeds/rss.xml"]}
    again = cli("watch", web.url("/feeds/rss.xml"), "--rounds", "1", "--every", "1s", "--index-dir", str(folder),
                env=LIMIT)
    assert "round 1: 0 new" in again.stdout
    assert all(web.hits[path] == before[path] for path in indexed)  # no indexed page is fetched again
    assert web.hits["/feeds/rss.xml"] == before["/feeds/rss.xml"] + 1  # (failed items are retried, by design)


def test_a_run_that_indexes_nothing_says_so(tmp_path):
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    result = cli("index", str(tmp_path), "--index-dir", str(tmp_path / "index"), check=False)
    assert result.returncode == 1
    assert "notes.pdf" in result.stderr and "nothing was indexed" in result.stderr


def test_watch_refuses_a_bad_interval(tmp_path):
    result = cli("watch", "feed.xml", "--every", "soon", "--index-dir", str(tmp_path / "i"), check=False)
    assert result.returncode == 2 and "--every" in result.stderr


def test_exit_codes_warnings_and_doc_ids_from_folders(tmp_path):
    """Issue 19: 2 when some inputs failed (each listed, the rest indexed), 0 when all is indexed or
    unchanged; warnings are listed and counted; a file in a sub-folder has its path as doc_id."""
    archive, folder = tmp_path / "archiv", tmp_path / "index"
    for year in ("2024", "2025"):
        (archive / year).mkdir(parents=True)
        (archive / year / "haushalt.txt").write_text(f"Haushalt {year} beschlossen\n\nDer Stadtrat hat den Haushalt "
                                                     f"für {year} mit großer Mehrheit beschlossen.", encoding="utf-8")
    (archive / "gebuehren.txt").write_bytes("Gebühren steigen\n\n„Die Gebühren steigen um 4 €“, sagte der Kämmerer "
                                            "am Dienstag im Rathaus.".encode("cp1252"))
    (archive / "kaputt.pdf").write_bytes(b"%PDF-1.7\n" + b"0" * 2000)
    first = cli("index", str(archive), "--index-dir", str(folder), "--quiet", check=False)
    assert first.returncode == 2, first.stderr
    assert f"skipped {archive / 'kaputt.pdf'}: not a readable PDF" in first.stderr
    assert f"warning: {archive / 'gebuehren.txt'}: decoded as cp1252 (not UTF-8)" in first.stderr
    assert "1 input not indexed (listed above)" in first.stderr
    assert "3 added, 0 updated, 0 unchanged, 1 skipped, 1 warnings;" in first.stdout
    (archive / "kaputt.pdf").unlink()
    second = cli("index", str(archive), "--index-dir", str(folder), "--quiet")  # check: exits 0
    assert "0 added, 0 updated, 3 unchanged, 0 skipped, 1 warnings;" in second.stdout
    deleted = cli("delete", "2024/haushalt", "2025/haushalt", "--index-dir", str(folder))
    assert deleted.stdout.split("\n")[:2] == ["deleted: 2024/haushalt", "deleted: 2025/haushalt"]
