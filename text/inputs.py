"""What each retriever reads for a passage. Kept in one place so indexing and evaluation agree."""

from __future__ import annotations

from text.terms import terms


def embedding_input(title: str, heading: str | None, text: str) -> str:
    """What the model reads for a passage: the article title and section heading give context."""
    context = " · ".join(part for part in (title, heading) if part)
    return f"{context}\n{text}" if context else text


TITLE_WORDS = 8  # of the article title, as context for each sentence


def sentence_input(title: str | None, sentence: str) -> str:
    """What the model reads for one sentence (for the highlight): the first words of the article
    title (the topic: "Er starb 1943." says little on its own; a whole lead sentence as title would
    only cost time), then the sentence."""
    words = " ".join((title or "").split()[:TITLE_WORDS])
    return f"{words}\n{sentence}" if words else sentence


def lexical_input(title: str, heading: str | None, text: str) -> list[str]:
    """BM25 terms of a passage, its title and heading included."""
    return terms(" ".join(part for part in (title, heading, text) if part))
