"""Find title, date and source in a plain-text article, as the sample articles carry them.

Recognised, each on a line of its own near the top:
- the title: the first line that reads like a headline (not a one- or two-word section kicker);
- a date line: ``15.10.2024, 04:15`` or ``2024-10-15``;
- a source line with a date: ``Chas Pravdy - 29 Mai 2025 16:44``;
- a byline: ``Tobias Schibilla / t-online`` or ``Ein Artikel von`` followed by the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexer.lines import Line, iter_lines

TITLE_MAX = 300
HEAD_LINES = 25  # metadata only counts near the top of an article

MONTHS = {
    name: number
    for number, names in enumerate(
        [("januar", "jan", "jänner", "january"), ("februar", "feb", "february"), ("märz", "mär", "mar", "march"),
         ("april", "apr"), ("mai", "may"), ("juni", "jun", "june"), ("juli", "jul", "july"),
         ("august", "aug"), ("september", "sep", "sept"), ("oktober", "okt", "oct", "october"),
         ("november", "nov"), ("dezember", "dez", "dec", "december")],
        start=1,
    )
    for name in names
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
NUMERIC_DATE = re.compile(r"^(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})(?:,?\s+\d{1,2}[:.]\d{2}(?:\s*Uhr)?)?$")
ISO_DATE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2})?)?$")
SOURCE_DATE = re.compile(
    rf"^(?P<source>[^\d|]{{2,60}}?)\s+[-–—|]\s+(?P<d>\d{{1,2}})\.?\s+(?P<month>{_MONTH_RE})\.?\s+(?P<y>\d{{4}})"
    r"(?:,?\s+\d{1,2}:\d{2})?$",
    re.IGNORECASE,
)
BYLINE = re.compile(r"^(?P<author>[A-ZÄÖÜ][\w.'-]+(?:\s+[A-ZÄÖÜ][\w.'-]+){1,3})\s+/\s+(?P<source>[\w.\- ]{2,40})$")
BYLINE_INTRO = re.compile(r"^(?:ein\s+artikel\s+von|quelle|source)\s*:?$", re.IGNORECASE)


@dataclass
class Metadata:
    title: str
    title_line: Line | None = None  # the line the title was taken from, if it is a headline
    published: str | None = None
    source: str | None = None
    meta_lines: set[int] = field(default_factory=set)  # paragraph numbers that are metadata


def _iso(y: str, m: int | str, d: str) -> str | None:
    try:
        from datetime import date

        return date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        return None


def _is_kicker(line: Line) -> bool:
    """Section labels above a headline ("International", "Nordkorea")."""
    return len(line.text.split()) <= 2 and not line.text.endswith((".", "!", "?"))


def _is_headline(line: Line) -> bool:
    sentence_ends = len(re.findall(r"[.!?](?:\s|$)", line.text))
    return len(line.text) <= TITLE_MAX and sentence_ends <= 1


def _title_from_lead(text: str) -> str:
    first = re.split(r"(?<=[.!?])\s+", text, maxsplit=1)[0]
    return first if len(first) <= 160 else first[:157].rsplit(" ", 1)[0] + " …"


def detect_metadata(text: str) -> Metadata:
    lines = iter_lines(text)
    head = lines[:HEAD_LINES]
    title_line = next((line for line in head if not _is_kicker(line)), head[0] if head else None)
    if title_line is None:
        return Metadata(title="")
    if _is_headline(title_line):
        meta = Metadata(title=title_line.text, title_line=title_line)
    else:  # the article starts with its lead paragraph: the title is its first sentence
        meta = Metadata(title=_title_from_lead(title_line.text))

    for i, line in enumerate(head):
        value = line.text
        if match := NUMERIC_DATE.match(value) or ISO_DATE.match(value):
            meta.published = meta.published or _iso(match["y"], match["m"], match["d"])
            meta.meta_lines.add(line.paragraph)
        elif match := SOURCE_DATE.match(value):
            meta.published = meta.published or _iso(match["y"], MONTHS[match["month"].lower()], match["d"])
            meta.source = meta.source or match["source"].strip()
            meta.meta_lines.add(line.paragraph)
        elif match := BYLINE.match(value):
            meta.source = meta.source or match["source"].strip()
            meta.meta_lines.add(line.paragraph)
        elif BYLINE_INTRO.match(value) and i + 1 < len(head) and len(head[i + 1].text) <= 60:
            meta.source = meta.source or head[i + 1].text
            meta.meta_lines.update({line.paragraph, head[i + 1].paragraph})
    return meta
