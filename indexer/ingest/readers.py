"""Read articles from files, folders, web pages and feeds.

Files: ``.txt`` (plain text), ``.md`` (Markdown, rendered to plain text), ``.html``/``.htm`` (web
pages, extracted), ``.jsonl`` (one article per line), and RSS/Atom feeds (``.xml``, ``.rss``,
``.atom``; each item's page is fetched). Folders are read recursively; URLs are fetched (pages
and feeds) when a :class:`~indexer.ingest.fetch.Fetcher` is given.

Every problem with one input (binary, bad encoding, empty, malformed JSON line, a file of another
type in a folder, a URL that fails) is reported as a :class:`ReadError` naming the file or URL and
the reason; the rest is read. Nothing is skipped in silence.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from core.documents import Article
from indexer.ingest.schema import DOC_ID_MAX, TEXT_MAX, ArticleIn
from text.metadata import detect_metadata

if TYPE_CHECKING:
    from indexer.ingest.fetch import Fetcher

TEXT_SUFFIXES = {".txt"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
FEED_SUFFIXES = {".xml", ".rss", ".atom"}
MAX_FILE_BYTES = 4 * TEXT_MAX  # UTF-8 needs at most 4 bytes a character
MAX_LINE_BYTES = 4 * TEXT_MAX + 64 * 1024  # one JSONL article with its metadata
BINARY_SNIFF_BYTES = 8192
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | FEED_SUFFIXES | JSONL_SUFFIXES
SUPPORTED_HINT = "use .txt, .md, .html, .jsonl or an RSS/Atom feed (.xml)"
URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)  # any scheme: the fetcher names the ones it refuses


@dataclass(frozen=True)
class ReadError:
    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


def decode_text(raw: bytes) -> str:
    """Strict UTF-8 (BOM allowed); binary or mis-encoded input raises ValueError."""
    if b"\x00" in raw:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def doc_id_from_path(path: Path) -> str:
    """A file's doc_id is its name without suffix, restricted to a URL-safe alphabet."""
    doc_id = re.sub(r"[^\w.-]+", "-", path.stem, flags=re.UNICODE).strip("-.") or "article"
    return re.sub(r"\.{2,}", ".", doc_id)[:DOC_ID_MAX]


def _read_limited(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"file too large ({size} bytes; an article may have at most {TEXT_MAX} characters)")
    return path.read_bytes()


def _checked_text(text: str) -> str:
    if not text.strip():
        raise ValueError("empty file")
    if len(text) > TEXT_MAX:
        raise ValueError(f"article too long ({len(text)} characters; the limit is {TEXT_MAX})")
    return text


def read_text_file(path: Path) -> Article:
    text = _checked_text(decode_text(_read_limited(path)))
    meta = detect_metadata(text)
    return Article(
        doc_id=doc_id_from_path(path), title=meta.title, text=text, source=meta.source,
        published=meta.published, url=meta.url, origin=str(path),
    )


def read_markdown_file(path: Path) -> Article:
    """Markdown is rendered to plain text (no markup in passages); offsets refer to the rendered text."""
    from indexer.ingest.markdown_text import read_markdown

    source = _checked_text(decode_text(_read_limited(path)))
    md = read_markdown(source)
    return Article(
        doc_id=doc_id_from_path(path), title=md.title, text=_checked_text(md.text), source=md.source,
        published=md.published, url=md.url, origin=str(path),
    )


def read_html_file(path: Path) -> Article:
    """A saved web page: its article text and metadata, extracted as for a fetched page."""
    from indexer.ingest.html import MAX_HTML_BYTES, article_from_html

    size = path.stat().st_size
    if size > MAX_HTML_BYTES:
        raise ValueError(f"file too large ({size} bytes; a web page may have at most {MAX_HTML_BYTES})")
    article = article_from_html(path.read_bytes(), doc_id_from_path(path), origin=str(path))
    _checked_text(article.text)
    return article


def read_jsonl_file(path: Path) -> Iterator[Article | ReadError]:
    """One article per line, read line by line (a collection may be large); each bad line is
    reported with its line number and skipped."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        yield ReadError(str(path), f"cannot read: {exc.strerror or exc}")
        return
    with fh:
        try:
            if b"\x00" in fh.read(BINARY_SNIFF_BYTES):
                yield ReadError(str(path), "binary file (contains NUL bytes)")
                return
            fh.seek(0)
            seen_content = False
            for number, raw in enumerate(fh, start=1):
                where = f"{path}:{number}"
                if number == 1:
                    raw = raw.removeprefix(b"\xef\xbb\xbf")
                if not raw.strip():
                    continue
                seen_content = True
                if len(raw) > MAX_LINE_BYTES:
                    yield ReadError(where, f"line too long ({len(raw)} bytes)")
                    continue
                try:
                    line = decode_text(raw)
                    item = ArticleIn.model_validate_json(line)
                except ValueError as exc:  # bad encoding, NUL bytes
                    if isinstance(exc, ValidationError):
                        yield ReadError(where, _first_error(exc))
                    else:
                        yield ReadError(where, str(exc))
                    continue
                yield item.to_article(origin=where)
        except OSError as exc:
            yield ReadError(str(path), f"cannot read: {exc.strerror or exc}")
            return
    if not seen_content:
        yield ReadError(str(path), "empty file")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    if err["type"] == "json_invalid":
        return f"invalid JSON ({err['msg']})"
    message = str(err["msg"]).removeprefix("Value error, ")
    loc = ".".join(str(p) for p in err.get("loc", ()))
    return f"{loc}: {message}" if loc else message


def _walk(folder: Path) -> Iterator[Path | ReadError]:
    """Every file under ``folder`` in a stable order; hidden folders are reported, not entered."""
    for root, dirs, files in os.walk(folder):
        hidden = sorted(d for d in dirs if d.startswith("."))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in hidden:
            yield ReadError(str(Path(root) / name), "hidden folder, not read")
        for name in sorted(files):
            path = Path(root) / name
            yield path if path.is_file() else ReadError(str(path), "not a regular file or folder")


def iter_files(paths: Iterable[Path]) -> Iterator[Path | ReadError]:
    for path in paths:
        if path.is_dir():
            yield from _walk(path)
        elif path.is_file():
            yield path
        elif path.exists():
            yield ReadError(str(path), "not a regular file or folder")
        else:
            yield ReadError(str(path), "no such file or directory")


def read_file(path: Path, fetcher: Fetcher | None = None) -> Iterator[Article | ReadError]:
    """The articles in one file (a feed file's items are fetched with ``fetcher``)."""
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from read_jsonl_file(path)
        return
    if suffix in FEED_SUFFIXES:
        from indexer.ingest.feeds import read_feed

        yield from read_feed(path, fetcher)
        return
    reader = {**dict.fromkeys(TEXT_SUFFIXES, read_text_file), **dict.fromkeys(MARKDOWN_SUFFIXES, read_markdown_file),
              **dict.fromkeys(HTML_SUFFIXES, read_html_file)}.get(suffix)
    if reader is None:
        yield ReadError(str(path), f"unsupported file type {suffix or '(none)'}; {SUPPORTED_HINT}")
        return
    try:
        yield reader(path)
    except OSError as exc:
        yield ReadError(str(path), f"cannot read: {exc.strerror or exc}")
    except ValueError as exc:
        yield ReadError(str(path), str(exc))


def read_url(url: str, fetcher: Fetcher | None) -> Iterator[Article | ReadError]:
    """A web page, or every item of a feed (recognised by its content, not its address)."""
    from indexer.ingest.feeds import doc_id_for_url, is_feed, parse_feed, read_item
    from indexer.ingest.fetch import check_url
    from indexer.ingest.html import article_from_html

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
    if is_feed(fetched.body):
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


def read_inputs(inputs: Iterable[str | Path], fetcher: Fetcher | None = None) -> Iterator[Article | ReadError]:
    """Articles from files, folders (recursively), page URLs and feed URLs or files, in order.

    URLs (``http://``, ``https://``) and the items of feeds are fetched with ``fetcher``; without
    one they are reported as errors (the HTTP service never fetches). Every input that yields no
    article is reported by name and reason, files of other types in a folder included.
    """
    for raw in inputs:
        if isinstance(raw, str) and URL.match(raw.strip()):
            yield from read_url(raw.strip(), fetcher)
            continue
        for item in iter_files([Path(raw)]):
            if isinstance(item, ReadError):
                yield item
            else:
                yield from read_file(item, fetcher)


def read_articles(paths: Iterable[Path]) -> Iterator[Article | ReadError]:
    """Articles from files and folders (recursively), in a stable order; nothing is fetched."""
    return read_inputs(paths, fetcher=None)
