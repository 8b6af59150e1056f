"""What retrieval returns: passages with their score and highlighted sentence (no HTTP shapes)."""

from __future__ import annotations

from dataclasses import dataclass

from store.types import StoredPassage


@dataclass(frozen=True)
class Hit:
    passage: StoredPassage
    score: float  # higher is better; comparable within one answer only
    highlights: list[tuple[int, int]]  # offsets within passage.text
    cosine: float = 0.0  # of the best sentence (or the passage) with the question
    confidence: float = 0.0  # in [0, 1], on a fixed scale (see retrieval.stages.confidence)


@dataclass(frozen=True)
class Answer:
    question: str
    took_ms: float
    hits: list[Hit]
    answer_found: bool = True  # False: nothing in the archive answers it; the hits are only the nearest
    partial: bool = False  # a sharded archive answered without some shards (see scaleout.router)
    missing_shards: tuple[int, ...] = ()  # the shards that did not answer
