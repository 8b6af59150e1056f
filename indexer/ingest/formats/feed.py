"""``.xml``/``.rss``/``.atom``: an RSS or Atom feed file; each item's page is fetched and read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from core.documents import Article
from indexer.ingest.errors import ReadError
from indexer.ingest.formats.registry import Format, ReadContext, register


def read_feed_file(path: Path, context: ReadContext) -> Iterator[Article | ReadError]:
    from indexer.ingest.feeds import read_feed

    return read_feed(path, context.fetcher)


FORMAT = register(Format(
    "RSS/Atom feed", (".xml", ".rss", ".atom"),
    "an RSS or Atom feed: each item's page is fetched and read (doc_ids from the item URLs)",
    read_feed_file, one_article=False, hint="an RSS/Atom feed (.xml)", rank=90,
))
