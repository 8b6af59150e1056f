"""Leave out boilerplate: which spans of an article are prose worth indexing.

Cleaning never rewrites text. It classifies the article's lines and returns the prose
lines as :class:`Span` offsets, each with the section heading above it as context.
Left out: the headline and its repetitions, kickers, date, dateline and byline lines, image
captions and alt texts, tables, and everything from the first footer marker on
(reader comments, donation boxes, "Zur Story" teasers, source lists).

Paragraphs are numbered as a reader counts them: ``Span.paragraph`` is the number of the
article's body paragraph (the first prose paragraph is 1); title, kicker, dateline, byline,
section heading and every other line left out are not paragraphs.
"""

from __future__ import annotations

import re
from dataclasses import replace

from core.documents import Span
from text.lines import Line, iter_lines, normalise
from text.metadata import detect_metadata

_I = re.IGNORECASE
FOOTER = [
    re.compile(p, _I)
    for p in (
        r"^(\d+\s+)?(leser)?kommentare?(\s*\(\d+\))?:?$",
        r"^die (beliebtesten|neuesten) kommentare$",
        r"^(verwendete\s+)?quellen\b.*$",
        r"^sources?:?$",
        r"^details\s*\|",
        r"^danke für die\b",
        r"^(das )?könnte (dich|sie) auch( noch)? interessieren:?$",
        r"^(mehr zum thema|weitere artikel|auch interessant|lesen sie auch|das könnte sie auch interessieren):?$",
        r"^zur story$",
        r"^hast du technische probleme\??$",
        r"^(jetzt )?(unterstützen|spenden)\b.*$",
        r"^(artikel )?teilen:?$",
    )
]
CAPTION = [
    re.compile(p, _I)
    for p in (
        r"(bild|foto|grafik|video)\s*:\s*[\w/ .&-]{1,40}$",  # "… Kim Jong-un.Bild: imago"
        r"^(bild|foto|quelle)\s*:",
        r"\s(\.\.\.|…)$",  # truncated agency captions
        r"^mehr\s+[«»\"„].*[«»\"“]$",  # "Mehr «International»"
    )
]
TABLE = re.compile(r"(\|.*\|)|(^[-|: ]{3,}$)|(^[^|]{1,40}\|\s*$)")
KEY_VALUE = re.compile(r"\w:\s+\S")  # "Kosten: 2,3 Milliarden Euro", a list item's fact
SENTENCE_END = (".", "!", "?", "“", "\"", "»", "«", ")", ":")


def _is_noise(line: Line) -> bool:
    words = line.text.split()
    if any(p.search(line.text) for p in CAPTION) or TABLE.search(line.text):
        return True
    if len(words) <= 2 and not line.text.endswith(SENTENCE_END) and not KEY_VALUE.search(line.text):
        return True  # "avatar", "Melden", "451", user names (but "Baubeginn: 2027" is a fact)
    # alt texts: short, all lower case, no sentence punctuation ("kim jong-un und putin")
    return line.text == line.text.lower() and len(words) <= 8 and not line.text.endswith(SENTENCE_END)


def _is_heading(line: Line) -> bool:
    words = line.text.split()
    return 2 <= len(words) <= 14 and len(line.text) <= 120 and not line.text.endswith((".", "!", "?", ":", ","))


def _same_block(text: str, first: Line, second: Line) -> bool:
    """Consecutive lines with no blank line between them (the items of one list, say)."""
    return re.search(r"\n[ \t]*\n", text[first.end : second.start]) is None


def _is_list_item(text: str, lines: list[Line], i: int, meta_lines: set[int]) -> bool:
    """A heading-like line in one block with another heading-like line (or right below an
    introducing "…:" line) is a list item, not a heading: "Kosten: 2,3 Milliarden Euro" is prose."""
    def listish(j: int, intro: bool = False) -> bool:
        other = lines[j]
        return other.paragraph not in meta_lines and (_is_heading(other) or (intro and other.text.endswith(":")))

    before = i > 0 and _same_block(text, lines[i - 1], lines[i]) and listish(i - 1, intro=True)
    after = i + 1 < len(lines) and _same_block(text, lines[i], lines[i + 1]) and listish(i + 1)
    return before or after


def _footer_start(lines: list[Line]) -> int:
    for i, line in enumerate(lines):
        if i > 0 and any(p.match(line.text) for p in FOOTER):
            return i
    return len(lines)


def clean(text: str, title: str | None = None) -> list[Span]:
    """The prose spans of ``text`` (offsets exact), in order.

    ``title`` is the article's known title (JSONL, API); for plain-text files it is
    detected. Lines repeating it are left out, and so are kickers above its first line.
    """
    meta = detect_metadata(text)
    title = normalise(title if title is not None else meta.title)
    lines = iter_lines(text)
    lines = lines[: _footer_start(lines)]
    first_title = next((line.paragraph for line in lines if normalise(line.text) == title), 0)

    spans: list[Span] = []
    heading: str | None = None
    for i, line in enumerate(lines):
        if line.paragraph < first_title or line.paragraph in meta.meta_lines:
            continue  # kickers above the headline, date and byline lines
        if normalise(line.text) == title or _is_noise(line):
            continue  # the headline and its repetitions, captions, tables, comment furniture
        following = lines[i + 1] if i + 1 < len(lines) else None
        # a heading-like last line heads nothing: it is the article's last line of prose
        if (following is not None and _is_heading(line) and not _is_list_item(text, lines, i, meta.meta_lines)
                and (not _is_heading(following) or _is_list_item(text, lines, i + 1, meta.meta_lines))):
            heading = line.text
            continue  # a section heading is context for the passages below it, not prose
        spans.append(Span(line.start, line.end, line.paragraph, heading))
    if not spans:  # never leave an article unsearchable: short or unusual texts index whole
        spans = [Span(line.start, line.end, line.paragraph) for line in iter_lines(text)
                 if normalise(line.text) != title] or [Span(line.start, line.end, line.paragraph)
                                                       for line in iter_lines(text)]
    return [replace(span, paragraph=number) for number, span in enumerate(spans, start=1)]
