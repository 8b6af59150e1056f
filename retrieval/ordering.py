"""The order of an answer: by relevance (as ranked) or by date, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from enum import StrEnum

from core.filters import iso_day
from retrieval.hits import Answer, Hit


class Sort(StrEnum):
    RELEVANCE = "relevance"  # best first (the default)
    DATE = "date"  # the same passages, newest first; undated ones last


def by_date(hits: Sequence[Hit]) -> list[Hit]:
    """Newest first by the ISO date prefix; undated last; ties keep their relevance order."""
    dated = sorted((h for h in hits if iso_day(h.passage.published)),
                   key=lambda h: iso_day(h.passage.published), reverse=True)  # sorted() is stable
    return dated + [h for h in hits if not iso_day(h.passage.published)]


def order(answer: Answer, sort: Sort) -> Answer:
    """The answer in the asked order (relevance: as ranked)."""
    if Sort(sort) == Sort.RELEVANCE:
        return answer
    return replace(answer, hits=by_date(answer.hits))
