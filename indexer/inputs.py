"""What each retriever reads for a passage. Kept in one place so indexing and evaluation agree."""

from __future__ import annotations

from indexer.lexical import terms


def embedding_input(title: str, heading: str | None, text: str) -> str:
    """What the model reads for a passage: the article title and section heading give context."""
    context = " · ".join(part for part in (title, heading) if part)
    return f"{context}\n{text}" if context else text


def lexical_input(title: str, heading: str | None, text: str) -> list[str]:
    """BM25 terms of a passage, its title and heading included."""
    return terms(" ".join(part for part in (title, heading, text) if part))
