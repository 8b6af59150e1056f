"""Corpora the benchmarks share: where they are and how to read them as articles."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from core.documents import Article

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
# 2,898 German Wikipedia articles (the Klexikon topics), alphabetical; ~280k paragraphs, ~99M chars
KLEXIKON = SHARED / "klexikon" / "dewiki_2898_articles.jsonl.gz"


def jsonl_gz_articles(path: Path) -> Iterator[Article]:
    """One JSON object a line: {"id", "title", "text"}."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            yield Article(doc_id=f"wiki-{item['id']}", title=item["title"], text=item["text"])
