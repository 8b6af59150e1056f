"""Read articles from .txt/.md files and .jsonl collections.

Every problem with one input (binary, bad encoding, empty, malformed JSON line) is
reported as a :class:`ReadError` naming the file and the reason; the rest is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from indexer.documents import Article
from indexer.metadata import detect_metadata
from indexer.schema import DOC_ID_MAX, TEXT_MAX, ArticleIn

TEXT_SUFFIXES = {".txt", ".md"}
MAX_FILE_BYTES = 4 * TEXT_MAX  # UTF-8 needs at most 4 bytes a character
MAX_LINE_BYTES = 4 * TEXT_MAX + 64 * 1024  # one JSONL article with its metadata
BINARY_SNIFF_BYTES = 8192
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES


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


def read_text_file(path: Path) -> Article:
    text = decode_text(_read_limited(path))
    if not text.strip():
        raise ValueError("empty file")
    if len(text) > TEXT_MAX:
        raise ValueError(f"article too long ({len(text)} characters; the limit is {TEXT_MAX})")
    meta = detect_metadata(text)
    return Article(
        doc_id=doc_id_from_path(path), title=meta.title, text=text, source=meta.source,
        published=meta.published, url=None, origin=str(path),
    )


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
    loc = ".".join(str(p) for p in err.get("loc", ())) or "line"
    return f"{loc}: {err['msg']}" if err["type"] != "json_invalid" else f"invalid JSON ({err['msg']})"


def iter_files(paths: Iterable[Path]) -> Iterator[Path | ReadError]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        elif path.is_file():
            yield path
        elif path.exists():
            yield ReadError(str(path), "not a regular file or folder")
        else:
            yield ReadError(str(path), "no such file or directory")


def read_articles(paths: Iterable[Path]) -> Iterator[Article | ReadError]:
    """Articles from files and folders (recursively), in a stable order."""
    for item in iter_files(paths):
        if isinstance(item, ReadError):
            yield item
            continue
        suffix = item.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            yield from read_jsonl_file(item)
        elif suffix in TEXT_SUFFIXES:
            try:
                yield read_text_file(item)
            except OSError as exc:
                yield ReadError(str(item), f"cannot read: {exc.strerror or exc}")
            except ValueError as exc:
                yield ReadError(str(item), str(exc))
        else:
            yield ReadError(str(item), f"unsupported file type {suffix or '(none)'}; use .txt, .md or .jsonl")
