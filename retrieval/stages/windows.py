"""Context windows: an answer often sits in the sentence right after (or before) the one that
matches the question best ("Im Hafen wurde ein Wrack gefunden." | "Es handelt sich um einen
Frachter von 1912."), and a passage boundary may fall between the two. When the best sentence is
the first or last of its passage, the returned passage takes in the neighbouring sentence of the
article; offsets stay exact (``text == article[char_start:char_end]``), the highlight moves with it,
and takes in the added sentence after it when that continues the highlighted one
(:func:`retrieval.stages.coherence.continues`, as within a passage in :mod:`retrieval.stages.evidence`).
"""

from __future__ import annotations

from dataclasses import replace

from retrieval.hits import Hit
from retrieval.stages.coherence import continues
from retrieval.types import Ranking, WindowSource
from store.types import PassageSource, StoredPassage

MAX_ADDED_CHARS = 400  # a neighbouring "sentence" longer than this is a paragraph of its own: leave it


def widen(store: PassageSource, hit: Hit, link: bool = True) -> Hit:
    """``hit`` with its passage widened by the neighbouring sentence on the side of its best sentence;
    ``link``: the highlight takes in the added sentence after it when that continues it."""
    passage = hit.passage
    sentences = passage.sentences or [(0, len(passage.text))]
    if not hit.highlights:
        return hit
    best = hit.highlights[0]
    before, after = store.neighbours(passage)
    start, end = passage.char_start, passage.char_end
    linked = False
    if best[0] == sentences[0][0] and before is not None and before.sentences:
        s, e = before.sentences[-1]
        if e - s <= MAX_ADDED_CHARS:
            start = before.char_start + s
    if best[1] == sentences[-1][1] and after is not None and after.sentences:
        s, e = after.sentences[0]
        if e - s <= MAX_ADDED_CHARS:
            end = after.char_start + e
            one_sentence = best == sentences[-1]  # a highlight of two sentences already is not lengthened
            linked = link and one_sentence and continues(passage.text[best[0] : best[1]], after.text[s:e])
    if (start, end) == (passage.char_start, passage.char_end):
        return hit
    text = store.text_span(passage.doc_id, start, end)
    if text is None:  # the article changed meanwhile: keep the passage as it was read
        return hit
    # a window never crosses text that cleaning left out (a dateline, a byline, a teaser between two
    # passages): only blank space may lie between the passage and the sentence it takes in
    if start < passage.char_start and _left_out(text, start, before, passage.char_start):
        text, start = text[passage.char_start - start :], passage.char_start
    if end > passage.char_end and _left_out(text, start, passage, after.char_start + after.sentences[0][0]):
        text, end, linked = text[: passage.char_end - start], passage.char_end, False
    if (start, end) == (passage.char_start, passage.char_end):
        return hit
    shift = passage.char_start - start
    paragraph = passage.paragraph  # where the best sentence stands: it is in the passage itself
    widened = replace(passage, char_start=start, char_end=end, text=text, paragraph=paragraph,
                      sentences=_sentences(passage, before, after, start, end), packed_sentence_vectors=None)
    highlights = [(s + shift, e + shift) for s, e in hit.highlights]
    if linked:
        highlights[0] = (highlights[0][0], end - start)
    return replace(hit, passage=widened, highlights=highlights)


def _sentences(passage: StoredPassage, before: StoredPassage | None, after: StoredPassage | None,
               start: int, end: int) -> list[tuple[int, int]]:
    """The sentence offsets of the widened passage, relative to its new start."""
    spans = []
    for part in (before, passage, after):
        if part is None:
            continue
        for s, e in part.sentences or [(0, len(part.text))]:
            s, e = part.char_start + s, part.char_start + e
            if s >= start and e <= end:
                spans.append((s - start, e - start))
    return spans


class IndexWindows:
    """Context windows read from one index's store (a :class:`retrieval.types.WindowSource`)."""

    def __init__(self, store: PassageSource):
        self.store = store

    def widen(self, hits: list[Hit], link: bool = True) -> list[Hit]:
        return [widen(self.store, hit, link) for hit in hits]


class Windows:
    """The answer's passages with their context windows, read where the passages are stored."""

    name = "windows"

    def __init__(self, source: WindowSource, link: bool = True):
        self.source = source
        self.link = link  # off when the coherence stage is: an added sentence is then never linked either

    def __call__(self, ranking: Ranking) -> Ranking:
        ranking.hits = self.source.widen(ranking.hits, link=self.link)
        return ranking


def _left_out(text: str, start: int, first: StoredPassage, second_start: int) -> bool:
    """Whether non-blank text lies between the end of ``first`` and ``second_start`` (article offsets;
    ``text`` is the article from ``start``): text cleaning left out of every passage."""
    return bool(text[max(0, first.char_end - start) : max(0, second_start - start)].strip())
