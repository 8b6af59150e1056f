"""Read articles from .txt/.md files and .jsonl collections.

Every problem with one input (binary, bad encoding, empty, malformed JSON line) is
reported as a :class:`ReadError` naming the file and the reason; the rest is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from indexer.documents import Article
from indexer.metadata import detect_metadata
from indexer.schema import ArticleIn

TEXT_SUFFIXES = {".txt", ".md"}
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
    return re.sub(r"[^\w.-]+", "-", path.stem, flags=re.UNICODE).strip("-.") or "article"


def read_text_file(path: Path) -> Article:
    text = decode_text(path.read_bytes())
    if not text.strip():
        raise ValueError("empty file")
    meta = detect_metadata(text)
    return Article(
        doc_id=doc_id_from_path(path), title=meta.title, text=text, source=meta.source,
        published=meta.published, url=None, origin=str(path),
    )


def read_jsonl_file(path: Path) -> Iterator[Article | ReadError]:
    try:
        lines = decode_text(path.read_bytes()).split("\n")
    except ValueError as exc:
        yield ReadError(str(path), str(exc))
        return
    if not any(line.strip() for line in lines):
        yield ReadError(str(path), "empty file")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = ArticleIn.model_validate_json(line)
        except ValidationError as exc:
            yield ReadError(where, _first_error(exc))
            continue
        yield item.to_article(origin=where)


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
            except (OSError, ValueError) as exc:
                yield ReadError(str(item), str(exc))
        else:
            yield ReadError(str(item), f"unsupported file type {suffix or '(none)'}; use .txt, .md or .jsonl")
