"""``.html``: a saved web page; its article text and metadata are extracted as for a fetched page."""

from __future__ import annotations

from pathlib import Path

from core.documents import Article
from indexer.ingest.doc_ids import doc_id_from_path
from indexer.ingest.formats.common import checked_text
from indexer.ingest.formats.registry import Format, ReadContext, register


def read_html_file(path: Path, context: ReadContext) -> Article:
    from indexer.ingest.html import MAX_HTML_BYTES, article_from_html

    size = path.stat().st_size
    if size > MAX_HTML_BYTES:
        raise ValueError(f"file too large ({size} bytes; a web page may have at most {MAX_HTML_BYTES})")
    article = article_from_html(path.read_bytes(), context.doc_id or doc_id_from_path(path), origin=str(path))
    checked_text(article.text)
    return article


FORMAT = register(Format(
    "web page", (".html", ".htm"),
    "a saved web page: the article is extracted (trafilatura) with its title, outlet, author, date and URL",
    read_html_file, rank=30,
))
