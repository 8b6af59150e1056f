"""``.md``: one Markdown article per file, rendered to plain text (no markup reaches a passage)."""

from __future__ import annotations

from pathlib import Path

from core.documents import Article
from indexer.ingest.doc_ids import doc_id_from_path
from indexer.ingest.formats.common import checked_text, encoding_warnings, read_decoded
from indexer.ingest.formats.registry import Format, ReadContext, register


def read_markdown_file(path: Path, context: ReadContext) -> Article:
    """Offsets refer to the rendered text, which is what is stored."""
    from indexer.ingest.markdown_text import read_markdown

    decoded = read_decoded(path, context.max_file_bytes)
    md = read_markdown(checked_text(decoded.text))
    return Article(
        doc_id=context.doc_id or doc_id_from_path(path), title=md.title, text=checked_text(md.text),
        source=md.source, published=md.published, url=md.url, origin=str(path), author=md.author,
        place=md.place, warnings=encoding_warnings(decoded),
    )


FORMAT = register(Format(
    "Markdown", (".md", ".markdown"),
    "Markdown rendered to plain text; the first heading is the title, front matter and an italic byline are metadata",
    read_markdown_file, rank=20,
))
