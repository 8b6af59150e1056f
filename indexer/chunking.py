"""Cut prose spans into passages of a few sentences with exact offsets.

Sentence boundaries come from pysbd's German rules (abbreviations, ordinals such as
"12. Juni", numbers such as "10.000" stay intact). A passage never crosses a
paragraph; a sentence longer than the passage limit is cut at a word boundary.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd

from indexer.documents import Passage, Span

# pysbd misses some German abbreviations before numbers ("Abs. 3", "Art. 5"): a "sentence"
# that starts in lower case, or with a digit right after a short abbreviation, continues the last one.
_ABBREVIATION_END = re.compile(r"(?:^|\s)[A-Za-zÄÖÜäöü]{1,4}\.$")


def _continues(previous: str, following: str) -> bool:
    return following[:1].islower() or (following[:1].isdigit() and bool(_ABBREVIATION_END.search(previous)))


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="de", clean=False)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence offsets in ``text[start:end]``, located exactly (pysbd's own spans can drift)."""
    end = len(text) if end is None else end
    chunk = text[start:end]
    spans, cursor = [], 0
    for sentence in _segmenter().segment(chunk):
        body = sentence.strip()
        if not body:
            continue
        found = chunk.find(body, cursor)
        if found < 0:  # pysbd altered the sentence; fall back to its length
            found = cursor
        if spans and _continues(chunk[spans[-1][0] - start : spans[-1][1] - start], body):
            spans[-1] = (spans[-1][0], start + found + len(body))
        else:
            spans.append((start + found, start + found + len(body)))
        cursor = found + len(body)
    return spans or [(start, end)]


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at the last space before ``limit`` characters."""
    pieces = []
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cut if cut > start else start + limit
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    pieces.append((start, end))
    return pieces


def chunk(doc_id: str, text: str, spans: list[Span], target_chars: int = 500, max_chars: int = 900) -> list[Passage]:
    passages: list[Passage] = []

    def emit(span: Span, sentences: list[tuple[int, int]]) -> None:
        begin, finish = sentences[0][0], sentences[-1][1]
        passages.append(Passage(
            doc_id=doc_id, ordinal=len(passages), paragraph=span.paragraph, char_start=begin, char_end=finish,
            text=text[begin:finish], heading=span.heading,
            sentences=[(s - begin, e - begin) for s, e in sentences],
        ))

    for span in spans:
        sentences = []
        for s, e in sentence_spans(text, span.start, span.end):
            sentences.extend(_split_long(text, s, e, max_chars))
        group: list[tuple[int, int]] = []
        for sentence in sentences:
            if group and sentence[1] - group[0][0] > target_chars:
                emit(span, group)
                group = []
            group.append(sentence)
        if group:
            # a short tail joins the previous passage of the same paragraph if it still fits
            last = passages[-1] if passages else None
            if (last and last.paragraph == span.paragraph and group[-1][1] - group[0][0] < target_chars // 3
                    and group[-1][1] - last.char_start <= max_chars):
                passages.pop()
                emit(span, [(last.char_start + s, last.char_start + e) for s, e in last.sentences] + group)
            else:
                emit(span, group)
    return passages
