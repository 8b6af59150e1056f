"""What retrieval returns: passages with their score and highlighted sentence (no HTTP shapes)."""

from __future__ import annotations

from dataclasses import dataclass

from indexer.store import StoredPassage


@dataclass(frozen=True)
class Hit:
    passage: StoredPassage
    score: float  # higher is better; comparable within one answer only
    highlights: list[tuple[int, int]]  # offsets within passage.text


@dataclass(frozen=True)
class Answer:
    question: str
    took_ms: float
    hits: list[Hit]
