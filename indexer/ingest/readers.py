"""Read articles from files, folders, web pages and feeds: the one entry point of :mod:`indexer.ingest`.

The formats a file may have are registered in :mod:`indexer.ingest.formats` (one module each:
plain text, Markdown, web pages, JSON Lines, PDF, RSS/Atom feeds); folders are read recursively;
URLs are fetched (pages, PDFs and feeds) when a :class:`~indexer.ingest.fetch.Fetcher` is given.
A file in a folder takes its doc_id from its path below that folder (``2024/haushalt``); a file
named directly keeps its name (:mod:`indexer.ingest.sources`).

Every problem with one input (binary, undecodable, empty, a malformed JSON line, a file of another
type in a folder, a URL that fails, a doc_id that two inputs claim) is reported as a
:class:`ReadError` naming the file, line or URL and the reason; the rest is read. What reading
noticed about an article it did read (an encoding detected, a bad optional field left out, pages
without text) travels as ``Article.warnings``. Nothing is skipped in silence.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from core.documents import Article
from indexer.ingest import formats
from indexer.ingest.doc_ids import doc_id_from_path
from indexer.ingest.errors import ReadError, ReadWarning
from indexer.ingest.formats.jsonl import BINARY_SNIFF_BYTES, MAX_LINE_BYTES
from indexer.ingest.schema import TEXT_MAX
from indexer.ingest.sources import URL, UrlInput, claims_of, iter_files, plan
from indexer.ingest.urls import read_url

if TYPE_CHECKING:
    from indexer.ingest.fetch import Fetcher

MAX_FILE_BYTES = 4 * TEXT_MAX  # UTF-8 needs at most 4 bytes a character
SUPPORTED_SUFFIXES = formats.supported_suffixes()
SUPPORTED_HINT = formats.supported_hint()

__all__ = ["BINARY_SNIFF_BYTES", "MAX_FILE_BYTES", "MAX_LINE_BYTES", "SUPPORTED_HINT", "SUPPORTED_SUFFIXES", "URL",
           "ReadError", "ReadWarning", "doc_id_from_path", "iter_files", "read_articles", "read_file",
           "read_inputs", "read_url"]


def read_file(path: Path, fetcher: Fetcher | None = None, doc_id: str | None = None,
              refused: dict[str, str] | None = None) -> Iterator[Article | ReadError]:
    """The articles in one file (a feed file's items are fetched with ``fetcher``).

    ``doc_id``: the doc_id of a one-article file (default: its name without suffix); ``refused``:
    parts of a collection not to read, by origin, with the reason to report (see
    :func:`indexer.ingest.sources.claims_of`).
    """
    fmt = formats.for_suffix(path.suffix)
    if fmt is None:
        yield ReadError(str(path), f"unsupported file type {path.suffix.lower() or '(none)'}; {SUPPORTED_HINT}")
        return
    context = formats.ReadContext(max_file_bytes=MAX_FILE_BYTES, doc_id=doc_id, fetcher=fetcher,
                                  refused=refused or {})
    yield from fmt.read_file(path, context)


def read_inputs(inputs: Iterable[str | Path], fetcher: Fetcher | None = None) -> Iterator[Article | ReadError]:
    """Articles from files, folders (recursively), page URLs and feed URLs or files, in order.

    URLs (``http://``, ``https://``) and the items of feeds are fetched with ``fetcher``; without
    one they are reported as errors (the HTTP service never fetches). Every input that yields no
    article is reported by name and reason, files of other types in a folder included. Inputs of
    this run that would share a doc_id are all refused (found before anything is read); an article
    fetched twice is read once, and a second article under a doc_id already read (a page that
    changed between two fetches of one run) is refused.
    """
    planned = list(plan(inputs))
    claims = claims_of(planned)
    fetched: dict[str, tuple[str, str]] = {}  # doc_id -> (content hash, origin) of pages and feed items
    for item in planned:
        if isinstance(item, ReadError):
            yield item
            continue
        if not isinstance(item, UrlInput) and str(item.path) in claims.refused:
            yield ReadError(str(item.path), claims.refused[str(item.path)])
            continue
        from_web = isinstance(item, UrlInput) or not item.ids_known_before_reading
        found = read_url(item.url, fetcher) if isinstance(item, UrlInput) else read_file(
            item.path, fetcher, doc_id=item.doc_id, refused=claims.refused)
        for article in found:
            if from_web and isinstance(article, Article):  # doc_ids from URLs: known only now
                article = _once(article, fetched, claims.first)
                if article is None:
                    continue
            yield article


def _once(article: Article, fetched: dict[str, tuple[str, str]], claimed: dict[str, str]) -> Article | ReadError | None:
    """A page or feed item under a doc_id another input has: the same article again is read once
    (None), other content is refused."""
    origin = article.origin or article.doc_id
    if article.doc_id in claimed:
        return ReadError(origin, f"doc_id {article.doc_id!r} is also the doc_id of {claimed[article.doc_id]}; "
                                 "this one is not indexed")
    digest, before = article.content_hash(), fetched.get(article.doc_id)
    if before is None:
        fetched[article.doc_id] = (digest, origin)
        return article
    if before[0] == digest:
        return None  # a page named twice, or an item in two feeds: one article, read once
    return ReadError(origin, f"doc_id {article.doc_id!r} was read before in this run from {before[1]}, with other "
                             "content (the page changed between two fetches?); this one is not indexed")


def read_articles(paths: Iterable[Path]) -> Iterator[Article | ReadError]:
    """Articles from files and folders (recursively), in a stable order; nothing is fetched."""
    return read_inputs(paths, fetcher=None)
