"""A URL named on the command line: a web page, a PDF, or a feed whose items are fetched in turn."""

from __future__ import annotations

from collections.abc import Iterator

from core.documents import Article
from indexer.ingest.errors import ReadError
from indexer.ingest.feeds import doc_id_for_url, is_feed, parse_feed, read_item
from indexer.ingest.fetch import Fetcher, check_url


def read_url(url: str, fetcher: Fetcher | None) -> Iterator[Article | ReadError]:
    """A web page or PDF, or every item of a feed (a feed is recognised by its content, not its address)."""
    from indexer.ingest.html import article_from_html
    from indexer.ingest.pdf import article_from_pdf

    if problem := check_url(url):
        yield ReadError(url, problem)
        return
    if fetcher is None:
        yield ReadError(url, "fetching URLs is not enabled here")
        return
    fetched = fetcher.fetch(url)
    if isinstance(fetched, ReadError):
        yield fetched
        return
    if fetched.kind == "pdf":
        try:
            yield article_from_pdf(fetched.body, doc_id_for_url(url), url=fetched.url, origin=url)
        except ValueError as exc:
            yield ReadError(url, f"{exc} (a {fetched.content_type} document)")
    elif is_feed(fetched.body):
        items = parse_feed(fetched.body, url, base_url=fetched.url)
        if isinstance(items, ReadError):
            yield items
            return
        for item in items:
            yield read_item(item, fetcher) if item.url else ReadError(
                f"{url}: item {item.title or '(untitled)'!r}", "the item has no link")
    elif fetched.kind == "html":
        try:
            yield article_from_html(fetched.body, doc_id_for_url(url), url=fetched.url, origin=url,
                                    charset=fetched.charset)
        except ValueError as exc:
            yield ReadError(url, str(exc))
    else:
        yield ReadError(url, f"a {fetched.content_type} document that is not an RSS or Atom feed")
