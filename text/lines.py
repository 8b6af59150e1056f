"""Split stored article text into lines with exact offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    start: int  # offset of the first non-blank character
    end: int  # offset after the last non-blank character
    text: str  # text[start:end]
    paragraph: int  # 1-based number among the non-empty lines


def iter_lines(text: str) -> list[Line]:
    """Every non-empty line is a paragraph; leading/trailing blanks are not part of it."""
    lines, number = [], 0
    for match in re.finditer(r"[^\n]+", text):
        raw = match.group()
        stripped = raw.strip()
        if not stripped:
            continue
        number += 1
        start = match.start() + (len(raw) - len(raw.lstrip()))
        lines.append(Line(start, start + len(stripped), stripped, number))
    return lines


def normalise(value: str) -> str:
    """Compare lines loosely: case, punctuation spacing and repeated blanks do not matter."""
    return re.sub(r"\s+", " ", value).strip().casefold()
