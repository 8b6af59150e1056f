"""Filters as plain data: what an answer may come from (outlets, a period, certain articles).

Each store translates them into its own query (:mod:`store.filters` for SQLite and the vector index);
nothing above the store writes SQL. Matching rules: sources compare case-insensitively (Unicode case
folding) with the stored ``source``; dates compare on the ISO date prefix (``YYYY-MM-DD``) of
``published``, and an article without a (well-formed) date never matches a date bound; all given
conditions must hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


def fold(value: str | None) -> str | None:
    return value.casefold().strip() if isinstance(value, str) else None


def iso_day(published: str | None) -> str | None:
    """The ``YYYY-MM-DD`` prefix of ``published``, or None when it is not a well-formed ISO date."""
    if not isinstance(published, str) or len(published) < 10:
        return None
    day = published[:10]
    return day if (day[:4] + day[5:7] + day[8:10]).isdigit() and day[4] == day[7] == "-" else None


@dataclass(frozen=True)
class Filters:
    """What an answer may come from; every condition given must hold. Empty means: everything."""

    sources: tuple[str, ...] = ()
    published_from: date | None = None  # inclusive
    published_to: date | None = None  # inclusive
    doc_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", tuple(dict.fromkeys(self.sources)))
        object.__setattr__(self, "doc_ids", tuple(dict.fromkeys(self.doc_ids)))
        if self.published_from and self.published_to and self.published_from > self.published_to:
            raise ValueError(f"published_from ({self.published_from}) is after published_to ({self.published_to})")

    @property
    def active(self) -> bool:
        return bool(self.sources or self.doc_ids or self.published_from or self.published_to)

    def matches(self, doc_id: str, source: str | None, published: str | None) -> bool:
        """The rule every store implements, in Python (for checks and tests)."""
        if self.doc_ids and doc_id not in self.doc_ids:
            return False
        if self.sources and fold(source) not in {fold(s) for s in self.sources}:
            return False
        if self.published_from or self.published_to:
            day = iso_day(published)
            if day is None:
                return False
            if self.published_from and day < self.published_from.isoformat():
                return False
            if self.published_to and day > self.published_to.isoformat():
                return False
        return True


def merge_sources(rows: list[tuple[str, int, str | None, str | None]]) -> list[dict]:
    """Outlet rows ``(source, articles, first, last)`` (of one store, or of all shards) as one list:
    spellings that differ only in case are one outlet (filters match them case-insensitively), listed
    under the most frequent spelling; most articles first."""
    merged: dict[str, dict] = {}
    for source, count, first, last in sorted(rows, key=lambda r: -r[1]):
        entry = merged.setdefault(fold(source), {"source": source.strip(), "documents": 0,
                                                 "first_published": None, "last_published": None})
        entry["documents"] += count
        entry["first_published"] = min(filter(None, (entry["first_published"], first)), default=None)
        entry["last_published"] = max(filter(None, (entry["last_published"], last)), default=None)
    return sorted(merged.values(), key=lambda e: (-e["documents"], e["source"].casefold()))
