"""``.pdf``: the text layer of a PDF (press releases, reports, rulings), with where each page starts."""

from __future__ import annotations

from pathlib import Path

from core.documents import Article
from indexer.ingest.doc_ids import doc_id_from_path
from indexer.ingest.formats.common import checked_text
from indexer.ingest.formats.registry import Format, ReadContext, register


def read_pdf_file(path: Path, context: ReadContext) -> Article:
    from indexer.ingest.pdf import article_from_pdf

    article = article_from_pdf(path, context.doc_id or doc_id_from_path(path), origin=str(path))
    checked_text(article.text)
    return article


FORMAT = register(Format(
    "PDF", (".pdf",),
    "the text layer in reading order, hyphenation undone, running headers, footers and page numbers "
    "left out; citations name the page (no OCR: a scan is reported)",
    read_pdf_file, rank=50,
))
