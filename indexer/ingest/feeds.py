"""RSS 2.0 and Atom feeds (feedparser): each item's page is fetched and read as an article.

A feed is recognised by its content (an XML document whose root is ``<rss>``, ``<feed>`` or
``<rdf:RDF>``), whatever its file name or content type says. Each item's link is fetched with the
:class:`~indexer.ingest.fetch.Fetcher` and extracted as an HTML page (or read as a PDF); the item's
title, date and author, and the feed's title as the outlet, fill in what the page does not state. The doc_id is derived from the item
URL, so the same article gets the same doc_id whether it comes from a feed or is indexed by URL.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from core.documents import Article
from indexer.ingest.errors import ReadError
from indexer.ingest.fetch import Fetcher
from indexer.ingest.html import Fallback, article_from_html
from text.metadata import parse_date

MAX_FEED_BYTES = 10 * 1024 * 1024
_ROOT = re.compile(
    rb"^(?:\s|<\?[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<(?P<name>[\w:.-]+)", re.DOTALL | re.IGNORECASE,
)
_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|mc_cid|mc_eid|at_medium|at_campaign|wt_mc|wt_zmc)$", re.IGNORECASE)


@dataclass(frozen=True)
class FeedItem:
    url: str
    title: str | None = None
    published: str | None = None
    author: str | None = None
    feed_title: str | None = None

    def fallback(self) -> Fallback:
        """The item's author is an author, never the outlet: the feed's title is the outlet."""
        return Fallback(title=self.title, source=self.feed_title, author=self.author, published=self.published,
                        url=self.url)


def is_feed(data: bytes) -> bool:
    """True if ``data`` is an XML document whose root element is an RSS, Atom or RSS 1.0 feed."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: decode the start and look again
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    match = _ROOT.match(head)
    return bool(match) and match["name"].lower() in (b"rss", b"feed", b"rdf:rdf")


def canonical_item_url(url: str) -> str:
    """The URL without fragment and tracking parameters: what identifies an item."""
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def doc_id_for_url(url: str) -> str:
    """A stable, readable doc_id for a web article: a slug of its path plus a short hash of the URL.

    ``https://www.tagesblick.example/regional/elbbruecke-neubau-100.html`` becomes
    ``elbbruecke-neubau-100-3f2a9c1b0d4e``. Only ``[a-z0-9-]``, so it satisfies the doc_id rules.
    """
    canonical = canonical_item_url(url)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]
    parts = urlsplit(canonical)
    segments = [s for s in parts.path.split("/") if s]
    stem = re.sub(r"\.(?:s?html?|php|aspx?|jsp|pdf)$", "", segments[-1] if segments else "", flags=re.IGNORECASE)
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")[:80].strip("-")
    if not slug:
        slug = re.sub(r"[^a-z0-9]+", "-", (parts.hostname or "page").removeprefix("www.")).strip("-") or "page"
    return f"{slug}-{digest}"


def parse_feed(data: bytes, origin: str, base_url: str | None = None) -> list[FeedItem] | ReadError:
    """The items of a feed (with a link each; items without one are skipped, see ``skipped``)."""
    import feedparser

    parsed = feedparser.parse(data, response_headers={"content-location": base_url} if base_url else None)
    if not parsed.entries:
        reason = f"not a readable feed ({parsed.get('bozo_exception')})" if parsed.bozo else "the feed has no items"
        return ReadError(origin, reason)
    feed_title = _clean(parsed.feed.get("title"))
    items = []
    for entry in parsed.entries:
        link = entry.get("link") or next((link.get("href") for link in entry.get("links", []) if link.get("href")),
                                         None)
        if not link:
            items.append(FeedItem(url="", title=_clean(entry.get("title"))))
            continue
        if base_url:
            from urllib.parse import urljoin

            link = urljoin(base_url, link)
        items.append(FeedItem(
            url=link.strip(), title=_clean(entry.get("title")), published=_entry_date(entry),
            author=_clean(entry.get("author")), feed_title=feed_title,
        ))
    return items


def _clean(value: str | None) -> str | None:
    """Feed titles may carry HTML entities or tags; keep plain text."""
    if not value:
        return None
    from indexer.ingest.markdown_text import html_text

    text = " ".join(html_text(value))
    return text or None


def _entry_date(entry) -> str | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        if parsed := entry.get(key):
            return f"{parsed.tm_year:04d}-{parsed.tm_mon:02d}-{parsed.tm_mday:02d}"
    for key in ("published", "updated", "dc_date"):
        if (raw := entry.get(key)) and (iso := parse_date(raw)):
            return iso
    return None


def load_feed(source: str | Path, fetcher: Fetcher | None) -> tuple[list[FeedItem], str] | ReadError:
    """A feed's items from a URL (fetched) or a file, and the base URL its links are relative to."""
    origin = str(source)
    if isinstance(source, str) and re.match(r"^https?://", source, re.IGNORECASE):
        if fetcher is None:
            return ReadError(origin, "fetching URLs is not enabled here")
        fetched = fetcher.fetch(source, kinds=("html", "feed"))  # a feed may come as text/html, never as a PDF
        if isinstance(fetched, ReadError):
            return fetched
        data, base = fetched.body, fetched.url
    else:
        path = Path(source)
        try:
            if path.stat().st_size > MAX_FEED_BYTES:
                return ReadError(origin, f"feed file too large (more than {MAX_FEED_BYTES} bytes)")
            data, base = path.read_bytes(), None
        except OSError as exc:
            return ReadError(origin, f"cannot read: {exc.strerror or exc}")
    if not is_feed(data):
        return ReadError(origin, "not an RSS or Atom feed (no <rss> or <feed> root element)")
    items = parse_feed(data, origin, base)
    return items if isinstance(items, ReadError) else (items, base or "")


def read_item(item: FeedItem, fetcher: Fetcher) -> Article | ReadError:
    """Fetch one feed item's page (or PDF) and extract it."""
    from indexer.ingest.pdf import article_from_pdf

    fetched = fetcher.fetch(item.url)
    if isinstance(fetched, ReadError):
        return fetched
    if fetched.kind == "feed":
        return ReadError(item.url, f"the item links to a {fetched.content_type} document, not a web page")
    if fetched.kind == "pdf":
        try:
            article = article_from_pdf(fetched.body, doc_id_for_url(item.url), url=fetched.url, origin=item.url)
        except ValueError as exc:
            return ReadError(item.url, f"{exc} (a {fetched.content_type} document)")
        return item.fallback().fill(article)
    try:
        return article_from_html(fetched.body, doc_id_for_url(item.url), url=fetched.url, origin=item.url,
                                 charset=fetched.charset, fallback=item.fallback())
    except ValueError as exc:
        return ReadError(item.url, str(exc))


def read_feed(source: str | Path, fetcher: Fetcher | None,
              known: Callable[[str], bool] | None = None) -> Iterator[Article | ReadError]:
    """Every item of a feed as an article (items for which ``known(url)`` is true are not fetched)."""
    loaded = load_feed(source, fetcher)
    if isinstance(loaded, ReadError):
        yield loaded
        return
    items, _ = loaded
    for item in items:
        if not item.url:
            yield ReadError(f"{source}: item {item.title or '(untitled)'!r}", "the item has no link")
        elif known is not None and known(item.url):
            continue
        elif fetcher is None:
            yield ReadError(item.url, "fetching URLs is not enabled here")
        else:
            yield read_item(item, fetcher)
