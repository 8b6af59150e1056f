"""Context windows: a passage takes in the neighbouring sentence on the side of its best sentence,
and its offsets stay exact."""

import pytest

from retrieval.hits import Hit
from retrieval.stages.coherence import continues
from retrieval.stages.windows import widen, widen_apart

QUESTIONS = [
    "Wie viele nordkoreanische Soldaten sind in Russland?",
    "How many North Korean soldiers are in Russia?",
    "Welche Raketen hat Nordkorea geliefert?",
    "Was bekommt Nordkorea von Russland dafür?",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_widened_passages_are_exact_slices_of_their_article(engine, question):
    for hit in engine.ask(question, top_k=10).hits:
        p = hit.passage
        assert engine.document(p.doc_id)["text"][p.char_start:p.char_end] == p.text
        (start, end), = hit.highlights  # one sentence, or two when the second continues the first
        covered = [(s, e) for s, e in p.sentences if start <= s and e <= end]
        assert 0 <= start < end <= len(p.text) and 1 <= len(covered) <= 2
        assert (covered[0][0], covered[-1][1]) == (start, end)
        assert all(0 <= s < e <= len(p.text) for s, e in p.sentences)


def _gaps(store, passage):
    """The article's text between ``passage`` and its neighbours (what cleaning left out, if not blank)."""
    before, after = store.neighbours(passage)
    text = store.document(passage.doc_id)["text"]
    return (text[before.char_end : passage.char_start] if before else None,
            text[passage.char_end : after.char_start] if after else None)


def _middle(store, next_sentences: int = 0):
    """A passage of at least two sentences with a neighbour on each side (the next one of at least
    ``next_sentences``) and nothing left out between them."""
    return next(p for p in store.passages(store.passage_ids().tolist()).values()
                if all(store.neighbours(p)) and len(p.sentences) >= 2
                and len(store.neighbours(p)[1].sentences) >= next_sentences
                and not any(gap.strip() for gap in _gaps(store, p)))


def test_a_last_sentence_takes_in_the_next_one_and_a_first_the_one_before(engine):
    store = engine.index.store
    middle = _middle(store)
    before, after = store.neighbours(middle)
    last = widen(store, Hit(middle, 1.0, [middle.sentences[-1]]))
    assert last.passage.char_start == middle.char_start
    assert last.passage.char_end == after.char_start + after.sentences[0][1]
    first = widen(store, Hit(middle, 1.0, [middle.sentences[0]]))
    assert first.passage.char_start == before.char_start + before.sentences[-1][0]
    assert first.passage.char_end == middle.char_end
    shift = middle.char_start - first.passage.char_start
    assert first.highlights == [(middle.sentences[0][0] + shift, middle.sentences[0][1] + shift)]
    if len(middle.sentences) > 2:
        inner = widen(store, Hit(middle, 1.0, [middle.sentences[1]]))
        assert inner.passage == middle  # a sentence in the middle has its context already


def test_a_window_never_takes_in_text_that_cleaning_left_out(engine):
    """Over the bundled articles, the t-online article's date, byline and kicker lines lie between two passages."""
    store = engine.index.store
    passages = store.passages(store.passage_ids().tolist()).values()
    framed = [(p, _gaps(store, p)) for p in passages if all(store.neighbours(p))]
    split = [(p, gaps) for p, gaps in framed if any(g.strip() for g in gaps)]
    assert split, "the bundled corpus has passages separated by left-out lines"
    for middle, (gap_before, gap_after) in split:
        first = widen(store, Hit(middle, 1.0, [middle.sentences[0]]))
        last = widen(store, Hit(middle, 1.0, [middle.sentences[-1]]))
        if gap_before.strip():
            assert first.passage.char_start == middle.char_start and gap_before.strip() not in first.passage.text
        if gap_after.strip():
            assert last.passage.char_end == middle.char_end and gap_after.strip() not in last.passage.text
        assert first.passage.paragraph == last.passage.paragraph == middle.paragraph


def test_a_continuing_sentence_across_the_boundary_joins_the_highlight(engine):
    store = engine.index.store
    passages = store.passages(store.passage_ids().tolist()).values()
    pairs = [(p, store.neighbours(p)[1]) for p in passages if len(p.sentences) >= 2]
    for middle, after in pairs:
        if after is None or not after.sentences or _gaps(store, middle)[1].strip():
            continue
        hit = widen(store, Hit(middle, 1.0, [middle.sentences[-1]]))
        s, e = after.sentences[0]
        joined = hit.highlights[0][1] == len(hit.passage.text)
        assert joined == continues(middle.text[slice(*middle.sentences[-1])], after.text[s:e])


def test_a_window_never_shows_a_sentence_of_another_hit_twice(engine):
    store = engine.index.store
    middle = _middle(store, next_sentences=2)
    _, after = store.neighbours(middle)
    alone, = widen_apart(store, [Hit(middle, 1.0, [middle.sentences[-1]])])
    assert alone.passage.char_end == after.char_start + after.sentences[0][1]
    # the next passage answers with another sentence: the window leaves it its first sentence
    first, second = widen_apart(store, [Hit(middle, 1.0, [middle.sentences[-1]]), Hit(after, 0.9, [after.sentences[-1]])])
    assert first.passage == middle and second.passage == after
    # the next passage answers with its first sentence, which the window would show higher up: one result of
    # both passages, in the first one's place and with its highlight, its offsets exact
    article = engine.document(middle.doc_id)["text"]
    for order in ([Hit(middle, 1.0, [middle.sentences[-1]]), Hit(after, 0.9, [after.sentences[0]])],
                  [Hit(after, 1.0, [after.sentences[0]]), Hit(middle, 0.9, [middle.sentences[-1]])]):
        only, = widen_apart(store, order)
        p = only.passage
        assert (p.char_start, p.char_end) == (middle.char_start, after.char_end) and p.id == order[0].passage.id
        assert p.text == article[p.char_start : p.char_end]
        for part, sentence in ((middle, middle.sentences[-1]), (after, after.sentences[0])):
            assert (part.char_start + sentence[0] - p.char_start, part.char_start + sentence[1] - p.char_start) \
                in p.sentences
        (s, e), = only.highlights
        top = order[0]
        assert p.text[s:e].startswith(top.passage.text[top.highlights[0][0] : top.highlights[0][1]])


@pytest.mark.parametrize("question", QUESTIONS)
def test_no_sentence_is_shown_twice(engine, question):
    """Issue 18: neighbouring passages of one article in one answer never both show the sentence between them
    ("Die Ukraine befürchtet den Einsatz dieser Truppen ..." as the first answer's window and the second's start)."""
    hits = engine.ask(question, top_k=10).hits
    for n, a in enumerate(hits):
        for b in hits[n + 1 :]:
            if a.passage.doc_id == b.passage.doc_id:
                assert a.passage.char_end <= b.passage.char_start or b.passage.char_end <= a.passage.char_start
