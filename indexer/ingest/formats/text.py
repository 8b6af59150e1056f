"""``.txt``: one plain-text article per file, stored as written; its metadata found in its lines."""

from __future__ import annotations

from pathlib import Path

from core.documents import Article
from indexer.ingest.doc_ids import doc_id_from_path
from indexer.ingest.formats.common import checked_text, encoding_warnings, read_decoded
from indexer.ingest.formats.registry import Format, ReadContext, register
from text.metadata import detect_metadata


def read_text(path: Path, context: ReadContext) -> Article:
    decoded = read_decoded(path, context.max_file_bytes)
    text = checked_text(decoded.text)
    meta = detect_metadata(text)
    return Article(
        doc_id=context.doc_id or doc_id_from_path(path), title=meta.title, text=text, source=meta.source,
        published=meta.published, url=meta.url, origin=str(path), author=meta.author, place=meta.place,
        warnings=encoding_warnings(decoded),
    )


FORMAT = register(Format(
    "plain text", (".txt",),
    "plain text, stored as written; title, date, dateline, byline and URL lines near the top are metadata",
    read_text, rank=10,
))
