"""What the text-file formats share: a size limit checked before reading, decoding by detection
(reported), and the article-length check."""

from __future__ import annotations

from pathlib import Path

from indexer.ingest.decoding import Decoded, decode, decoded_as
from indexer.ingest.schema import TEXT_MAX


def read_limited(path: Path, max_bytes: int) -> bytes:
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"file too large ({size} bytes; an article may have at most {TEXT_MAX} characters)")
    return path.read_bytes()


def read_decoded(path: Path, max_bytes: int) -> Decoded:
    """The file's text: UTF-8, or decoded by detection (see :mod:`indexer.ingest.decoding`)."""
    return decode(read_limited(path, max_bytes))


def encoding_warnings(decoded: Decoded) -> tuple[str, ...]:
    return (decoded_as(decoded.encoding),) if decoded.encoding else ()


def checked_text(text: str) -> str:
    if not text.strip():
        raise ValueError("empty file")
    if len(text) > TEXT_MAX:
        raise ValueError(f"article too long ({len(text)} characters; the limit is {TEXT_MAX})")
    return text
