"""Find title, date, source and URL in a plain-text article, as news articles carry them.

Recognised, each on a line of its own near the top:
- the title: the first line that reads like a headline (not a one- or two-word section kicker,
  not a metadata line);
- a date line: ``15.10.2024, 04:15``, ``2024-10-15``, ``21. Mai 2025``, ``Stand: 21.05.2025 08:00 Uhr``;
- a source line with a date: ``Chas Pravdy - 29 Mai 2025 16:44``, ``Tagesblick – 21.05.2025 08:00``;
- a byline: ``Tobias Schibilla / t-online``, ``Von Anna Muster, dpa``, ``Text: Anna Muster`` (the author;
  an outlet named with it is the source) or ``Ein Artikel von`` followed by the source. A byline
  never makes its author the source: ``source`` is for outlets only;
- a dateline: ``Gießen, 03.04.2025``, ``BERLIN (dpa) –``, ``Hamburg, 3. April 2025 –``: the place, the
  date and the agency (the source, where nothing else names one). On a line of its own it is
  metadata; at the start of the first paragraph (``BERLIN (dpa) – Die Regierung …``) it is read as
  metadata and the paragraph stays prose;
- a URL line: ``https://…`` (also ``Quelle: https://…``, and also below the article).

The cleaner leaves these lines out of the passages (``meta_lines``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from text.lines import Line, iter_lines

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
_WEEKDAY_RE = (
    r"(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|mon|tue|wed|thu|fri|sat|sun|mo|di|mi|do|fr|sa|so)\.?,?\s+"
)
_TIME_RE = (
    r"(?:,?\s*(?:um\s+)?\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s*(?:uhr|h|am|pm))?"
    r"(?:\s*(?:mez|mesz|cet|cest|utc|gmt|z|[+-]\d{2}:?\d{2}))?)?"
)
_DATE_FORMS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
        r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:z|[+-]\d{2}:?\d{2})?)?$",
        rf"^(?P<y>\d{{4}})/(?P<m>\d{{1,2}})/(?P<d>\d{{1,2}}){_TIME_RE}$",
        rf"^(?P<d>\d{{1,2}})\.\s?(?P<m>\d{{1,2}})\.\s?(?P<y>\d{{4}}){_TIME_RE}$",
        rf"^(?P<d>\d{{1,2}})\.?\s+(?P<month>{_MONTH_RE})\.?,?\s+(?P<y>\d{{4}}){_TIME_RE}$",
        rf"^(?P<month>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}}){_TIME_RE}$",
    )
]
# "Stand: 21.05.2025, 08:00 Uhr", "Veröffentlicht am 21. Mai 2025"
DATE_PREFIX = re.compile(
    r"^(?:stand|veröffentlicht(?:\s+am)?|aktualisiert(?:\s+am)?|erschienen(?:\s+am)?|datum|published|updated|date)"
    r"\s*:?\s+",
    re.IGNORECASE,
)
SOURCE_DATE = re.compile(r"^(?P<source>[^\d|]{2,60}?)\s+[-–—|·]\s+(?P<date>\S.{5,60})$")
BYLINE = re.compile(r"^(?P<author>[A-ZÄÖÜ][\w.'-]+(?:\s+[A-ZÄÖÜ][\w.'-]+){1,3})\s+/\s+(?P<source>[\w.\- ]{2,40})$")
_NAME = r"[A-ZÄÖÜ][\w.'-]*"
# "Von Anna Muster, dpa", "Von Anna Muster und Max Beispiel (AFP)", "By Jane Doe | Reuters", "Text: Anna Muster"
BYLINE_BY = re.compile(
    rf"^(?:(?i:von|by)|(?i:text(?:\s+und\s+fotos?)?|autor|autorin|author)\s*:)\s+(?P<author>{_NAME}(?:\s+(?:und|and|&|von|van|de|der|"
    rf"{_NAME})){{0,7}})\s*(?:[,|/·–-]\s*(?P<source>[\w.&\- ]{{2,40}}?)|\((?P<source2>[\w.&\- ]{{2,40}})\))?\s*$"
)
BYLINE_INTRO = re.compile(r"^(?:ein\s+artikel\s+von|quelle|source)\s*:?$", re.IGNORECASE)
# Datelines: a place (one to four capitalised words, "Frankfurt am Main", "FRANKFURT/MAIN"), then an
# agency in brackets and/or a date after a comma, then the end of the line or a dash before the text.
_PLACE_WORD = r"[A-ZÄÖÜ][\w'.-]*(?:/[A-ZÄÖÜ][\w'.-]*)?"
_PLACE = rf"{_PLACE_WORD}(?:\s+(?:(?:am|an|im|in|ob|bei|vor|der|den|dem|upon|on)\s+)*{_PLACE_WORD}){{0,3}}"
# Agencies write themselves in lower or upper case (dpa, epd, AFP, KNA, dpa/lhe); "(Saale)" is part of a place.
_AGENCY = r"(?:[a-z]{2,6}|[A-Z]{2,6}|Reuters|Bloomberg)(?:/[a-zA-Z]{2,6})*"
DATELINE_HEAD = re.compile(rf"^(?P<place>{_PLACE})(?:\s*\((?P<agency>{_AGENCY})\))?")
# What ends a dateline: a dash between spaces, a dash or colon at the end, or the end of the line.
_DATELINE_END = re.compile(r"\s+[–—-]\s+|\s*[–—-]\s*$|\s*:(?:\s+|$)|\s*$")
URL_LINE = re.compile(
    r"^(?:(?:quelle|source|url|link|online)\s*:\s*)?<?(?P<url>https?://[^\s<>\"']+)>?$", re.IGNORECASE,
)


def parse_date(value: str) -> str | None:
    """An ISO date (YYYY-MM-DD) from the date forms news use, or None.

    ``2025-05-21``, ``2025-05-21T08:00:00+02:00`` (the date as written, not converted to UTC),
    ``21.05.2025, 08:00 Uhr``, ``21. Mai 2025``, ``Mittwoch, 21. Mai 2025``, ``May 21, 2025``,
    ``2025/05/21`` and RFC 2822 (``Wed, 21 May 2025 08:00:00 +0200``, as feeds write it).
    """
    value = re.sub(r"\s+", " ", value or "").strip()
    if not value or len(value) > 60:
        return None
    unprefixed = re.sub(rf"^{_WEEKDAY_RE}", "", value, flags=re.IGNORECASE)
    for candidate in dict.fromkeys((value, unprefixed)):
        for form in _DATE_FORMS:
            if match := form.match(candidate):
                month = match["month"] if "month" in form.groupindex else None
                return _iso(match["y"], MONTHS[month.lower()] if month else match["m"], match["d"])
    try:
        from email.utils import parsedate_to_datetime

        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _date_line(value: str) -> str | None:
    return parse_date(DATE_PREFIX.sub("", value))


@dataclass
class Metadata:
    title: str
    title_line: Line | None = None  # the line the title was taken from, if it is a headline
    published: str | None = None
    source: str | None = None  # the outlet (never a byline's author)
    author: str | None = None
    url: str | None = None
    place: str | None = None  # from a dateline
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


def _line_metadata(value: str) -> dict[str, str] | None:
    """What one line states about the article (published, source, author, url), or None if it is no
    metadata line."""
    if published := _date_line(value):
        return {"published": published}
    if (match := SOURCE_DATE.match(value)) and (published := parse_date(DATE_PREFIX.sub("", match["date"]))):
        return {"published": published, "source": match["source"].strip()}
    if match := BYLINE.match(value):
        return {"source": match["source"].strip(), "author": match["author"]}
    if match := BYLINE_BY.match(value):
        outlet = (match["source"] or match["source2"] or "").strip()
        return {"author": match["author"].strip(), **({"source": outlet} if outlet else {})}
    if match := URL_LINE.match(value):
        return {"url": match["url"]}
    if (found := dateline(value)) is not None and not found[1]:
        return found[0]
    return None


def _place(value: str) -> str:
    """"BERLIN" and "FRANKFURT/MAIN" as a reader writes them; "Gießen" as it is."""
    return value.title() if value.isupper() else value


def dateline(value: str) -> tuple[dict[str, str], str] | None:
    """A dateline at the start of ``value``: (what it states: place, published and/or source (the
    agency)), the text after it) or None. A place alone ("Berlin - die Stadt schläft nie") is no
    dateline: it needs an agency in brackets or a date after a comma."""
    head = DATELINE_HEAD.match(value)
    if head is None or re.match(_WEEKDAY_RE, head["place"] + " ", re.IGNORECASE) or DATE_PREFIX.match(value):
        return None  # "Mittwoch, 21. Mai 2025" and "Stand: …" are date lines, not places
    stated = {"place": _place(head["place"])}
    if head["agency"]:
        stated["source"] = head["agency"]
    rest = value[head.end():]
    if rest.startswith(","):
        for end in _DATELINE_END.finditer(rest, 1):
            published = parse_date(rest[1 : end.start()])
            if published:
                stated["published"] = published
                rest = rest[end.start():]
                break
        else:
            return None
    elif not head["agency"]:
        return None
    end = _DATELINE_END.match(rest)
    if end is None:
        return None
    return stated, rest[end.end():]


def detect_metadata(text: str) -> Metadata:
    lines = iter_lines(text)
    head = lines[:HEAD_LINES]
    found: dict[str, str] = {}
    meta_lines: set[int] = set()
    for i, line in enumerate(head):
        if (stated := _line_metadata(line.text)) is not None:
            for key, value in stated.items():
                found.setdefault(key, value)
            meta_lines.add(line.paragraph)
        elif BYLINE_INTRO.match(line.text) and i + 1 < len(head) and len(head[i + 1].text) <= 60:
            found.setdefault("source", head[i + 1].text)
            meta_lines.update({line.paragraph, head[i + 1].paragraph})
    if "url" not in found:  # a source link is as often written below the article as above it
        for line in lines[HEAD_LINES:]:
            if match := URL_LINE.match(line.text):
                found["url"] = match["url"]
                meta_lines.add(line.paragraph)
                break

    candidates = [line for line in head if line.paragraph not in meta_lines]
    title_line = next((line for line in candidates if not _is_kicker(line)), candidates[0] if candidates else None)
    if title_line is None:
        meta = Metadata(title="")
    elif _is_headline(title_line):
        meta = Metadata(title=title_line.text, title_line=title_line)
        # a dateline that opens the first paragraph below the headline ("BERLIN (dpa) – Die …")
        lead = next((line for line in candidates if line.paragraph > title_line.paragraph), None)
        if lead is not None and (opening := dateline(lead.text)) is not None and opening[1]:
            for key, value in opening[0].items():
                found.setdefault(key, value)
    else:  # the article starts with its lead paragraph: the title is its first sentence (after a dateline)
        opening = dateline(title_line.text)
        if opening is not None and opening[1]:
            for key, value in opening[0].items():
                found.setdefault(key, value)
        meta = Metadata(title=_title_from_lead(opening[1] if opening is not None and opening[1] else title_line.text))
    meta.published, meta.source = found.get("published"), found.get("source")
    meta.author, meta.url, meta.place = found.get("author"), found.get("url"), found.get("place")
    meta.meta_lines = meta_lines
    return meta
