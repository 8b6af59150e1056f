"""Context windows: an answer often sits in the sentence right after (or before) the one that
matches the question best ("Im Hafen wurde ein Wrack gefunden." | "Es handelt sich um einen
Frachter von 1912."), and a passage boundary may fall between the two. When the best sentence is
the first or last of its passage, the returned passage takes in the neighbouring sentence of the
article; offsets stay exact (``text == article[char_start:char_end]``), the highlight moves with it,
and takes in the added sentence after it when that continues the highlighted one
(:func:`retrieval.stages.coherence.continues`, as within a passage in :mod:`retrieval.stages.evidence`).
A window never takes in a sentence that another passage of the answer shows: no sentence is shown twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from retrieval.hits import Hit
from retrieval.stages.coherence import continues
from retrieval.types import Ranking, WindowSource
from store.types import PassageSource, StoredPassage

MAX_ADDED_CHARS = 400  # a neighbouring "sentence" longer than this is a paragraph of its own: leave it


def widen(store: PassageSource, hit: Hit, link: bool = True, shown: Sequence[tuple[int, int]] = ()) -> Hit:
    """``hit`` with its passage widened by the neighbouring sentence on the side of its best sentence;
    ``link``: the highlight takes in the added sentence after it when that continues it; ``shown``: the
    article's character ranges that other passages of the answer show (a sentence in one is not taken in)."""
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
        if e - s <= MAX_ADDED_CHARS and not _overlaps(shown, before.char_start + s, before.char_start + e):
            start = before.char_start + s
    if best[1] == sentences[-1][1] and after is not None and after.sentences:
        s, e = after.sentences[0]
        if e - s <= MAX_ADDED_CHARS and not _overlaps(shown, after.char_start + s, after.char_start + e):
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


def _overlaps(ranges: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    """Whether any of ``ranges`` shares a character with ``start:end``."""
    return any(s < end and start < e for s, e in ranges)


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
        return widen_apart(self.store, hits, link)


def widen_apart(store: PassageSource, hits: list[Hit], link: bool = True) -> list[Hit]:
    """The hits widened (:func:`widen`) in the answer's order, no sentence shown twice. A window never takes
    in a sentence that a passage ranked above shows. Where it would take in a sentence of a passage ranked
    below, that passage's highlighted sentence decides: taken in, the two passages become one result (the
    higher one's place and highlight; nothing of either left out); else the window leaves the sentence to
    the lower passage. Two neighbouring passages of an article otherwise both showed the sentence between them."""
    out: dict[int, Hit | None] = {}
    for n, hit in enumerate(hits):
        if n in out:  # joined to a result above
            continue
        same = [m for m, other in enumerate(hits) if m != n and other.passage.doc_id == hit.passage.doc_id
                and out.get(m, other) is not None]
        blocked = [_range(out[m]) for m in same if m < n]
        while True:
            wide = widen(store, hit, link, blocked)
            added = _added(hit.passage, wide.passage)
            below = [m for m in same if m > n and _overlaps(added, *_range(hits[m]))]
            apart = [m for m in below if not _overlaps(added, *_best(hits[m]))]
            joined = None if apart else _joined(store, wide, [hits[m] for m in below])
            if joined is not None:
                break
            blocked += [_range(hits[m]) for m in (apart or below)]  # (the article changed: no join, no window)
        out[n] = joined
        out.update(dict.fromkeys(below))
    return [hit for n in range(len(hits)) if (hit := out[n]) is not None]


def _joined(store: PassageSource, upper: Hit, lower: list[Hit]) -> Hit | None:
    """``upper`` (a widened hit) and its article's neighbouring ``lower`` ones as one result: the text from the
    first one's start to the last one's end, every passage's sentences, ``upper``'s highlight (one highlight a
    result, as everywhere; the lower ones' best sentences are in the text); ``upper`` itself when there is
    nothing to join; None when the article's text cannot be read as it was (it changed meanwhile)."""
    if not lower:
        return upper
    parts = [upper.passage, *(h.passage for h in lower)]
    a = upper.passage
    start, end = min(p.char_start for p in parts), max(p.char_end for p in parts)
    text = store.text_span(a.doc_id, start, end)
    if text is None:
        return None
    sentences = sorted({(p.char_start + s - start, p.char_start + e - start)
                        for p in parts for s, e in p.sentences or [(0, len(p.text))]})
    highlights = [(a.char_start + s - start, a.char_start + e - start) for s, e in upper.highlights]
    passage = replace(a, char_start=start, char_end=end, text=text, sentences=sentences, packed_sentence_vectors=None)
    return replace(upper, passage=passage, highlights=highlights)


def _range(hit: Hit) -> tuple[int, int]:
    return hit.passage.char_start, hit.passage.char_end


def _best(hit: Hit) -> tuple[int, int]:
    """The article's characters of ``hit``'s highlighted sentence (the whole passage when it has none)."""
    if not hit.highlights:
        return _range(hit)
    start, end = hit.highlights[0]
    return hit.passage.char_start + start, hit.passage.char_start + end


def _added(passage: StoredPassage, wide: StoredPassage) -> list[tuple[int, int]]:
    """The article's characters a window added to ``passage``."""
    return [r for r in ((wide.char_start, passage.char_start), (passage.char_end, wide.char_end)) if r[0] < r[1]]


# Candidates chosen beyond the answer (retrieval.stages.variety), so that the answer keeps its length when a
# passage is joined to the result above it, whose window would show its highlighted sentence (widen_apart).
SPARE = 2


class Windows:
    """The answer's passages with their context windows, read where the passages are stored; then cut to
    the answer's length (at least ``pool``: a later stage reads that many and cuts to top_k itself)."""

    name = "windows"

    def __init__(self, source: WindowSource, link: bool = True, pool: int = 0):
        self.source = source
        self.link = link  # off when the coherence stage is: an added sentence is then never linked either
        self.pool = pool

    def __call__(self, ranking: Ranking) -> Ranking:
        ranking.hits = self.source.widen(ranking.hits, link=self.link)[: max(ranking.top_k, self.pool)]
        return ranking


def _left_out(text: str, start: int, first: StoredPassage, second_start: int) -> bool:
    """Whether non-blank text lies between the end of ``first`` and ``second_start`` (article offsets;
    ``text`` is the article from ``start``): text cleaning left out of every passage."""
    return bool(text[max(0, first.char_end - start) : max(0, second_start - start)].strip())
