"""Ask each question through the product's own search and score the answers.

A hit is any passage of the question's gold article. Each question is asked once for the top
10: the first k answers never depend on k (see :mod:`retrieval`), so its first five are the
default top-5 answer (recall@1, recall@5) and the ten give recall@10 and MRR@10. The highlight
rate: for questions whose article is found, how often the highlighted sentence of its first
passage contains a gold answer; "ans∈passage" is the same share for the whole passage: the
ceiling for the highlight.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tqdm import tqdm

from evaluation.datasets import Question
from retrieval.followup import contextualise
from retrieval.query import Mode, analyse
from retrieval.searcher import Searcher
from retrieval.stages.confidence import coverage

TOP = 10
DEFAULT_TOP = 5  # the API's default answer size


@dataclass
class Outcome:
    qid: str
    rank: int | None  # 1-based rank of the first passage of the gold article in the top 10
    highlighted: bool | None  # None when the gold article is not in the top 10
    answer_in_passage: bool | None
    highlight_share: float | None = None  # highlighted characters / passage characters
    top: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def evaluate(searcher: Searcher, questions: Iterable[Question], progress: bool = False) -> list[Outcome]:
    outcomes = []
    for q in tqdm(list(questions), desc=f"asking ({searcher.mode})", unit=" q", disable=not progress):
        hits = searcher.search(q.text, TOP)
        rank = next((r for r, hit in enumerate(hits, start=1) if hit.passage.doc_id == q.doc_id), None)
        highlighted = inside = share = None
        if rank is not None:
            shown = hits[rank - 1]
            marked = " ".join(_norm(shown.passage.text[s:e]) for s, e in shown.highlights)
            answers = [_norm(a) for a in q.answers]
            highlighted = any(a in marked for a in answers)
            inside = any(a in _norm(shown.passage.text) for a in answers)
            share = sum(e - s for s, e in shown.highlights) / max(1, len(shown.passage.text))
        outcomes.append(Outcome(q.qid, rank, highlighted, inside, share, [h.passage.doc_id for h in hits]))
    return outcomes


def metrics(outcomes: Sequence[Outcome]) -> dict[str, float]:
    n = max(1, len(outcomes))
    found = [o for o in outcomes if o.rank is not None]
    return {
        "questions": len(outcomes),
        "recall@1": sum(o.rank == 1 for o in found) / n,
        "recall@5": sum(o.rank <= DEFAULT_TOP for o in found) / n,
        "recall@10": len(found) / n,
        "mrr@10": sum(1 / o.rank for o in found) / n,
        "highlight": sum(bool(o.highlighted) for o in found) / max(1, len(found)),
        "answer_in_passage": sum(bool(o.answer_in_passage) for o in found) / max(1, len(found)),
        "highlight_share": statistics.fmean(o.highlight_share for o in found) if found else 0.0,
    }


# -- the hand-written question set -------------------------------------------------------------
@dataclass
class SetOutcome:
    qid: str
    lang: str
    answerable: bool
    kinds: tuple[str, ...]
    rank: int | None  # first passage that holds a gold answer, in the top 10
    highlighted: bool | None  # its highlighted sentence holds the answer
    answer_found: bool  # what the service said
    confidence: float  # of the first passage
    cosine: float = 0.0  # of the first passage's best sentence (calibration input)
    coverage: float = 0.0  # of the question's terms in the first passage (calibration input)


def evaluate_set(searcher: Searcher, questions: Iterable, progress: bool = False) -> list[SetOutcome]:
    outcomes = []
    for q in tqdm(list(questions), desc="asking (question set)", unit=" q", disable=not progress):
        answer = searcher.ask(q.text, TOP, history=list(q.history))
        rank = highlighted = None
        for r, hit in enumerate(answer.hits, start=1):
            if hit.passage.doc_id in q.doc_ids and any(a in hit.passage.text for a in q.answers):
                rank = r
                marked = " ".join(hit.passage.text[s:e] for s, e in hit.highlights)
                highlighted = any(a in marked for a in q.answers)
                break
        first = answer.hits[0] if answer.hits else None
        query = analyse(contextualise(q.text, list(q.history)), None, Mode.LEXICAL)
        outcomes.append(SetOutcome(
            q.qid, q.lang, q.answerable, q.kinds, rank, highlighted, answer.answer_found,
            first.confidence if first else 0.0, first.cosine if first else 0.0,
            coverage(query, first.passage.text) if first else 0.0))
    return outcomes


def set_metrics(outcomes: Sequence[SetOutcome], lang: str | None = None) -> dict[str, float]:
    chosen = [o for o in outcomes if lang is None or o.lang == lang]
    answerable = [o for o in chosen if o.answerable]
    unanswerable = [o for o in chosen if not o.answerable]
    found = [o for o in answerable if o.rank is not None]
    n = max(1, len(answerable))
    return {
        "questions": len(answerable),
        "hit@1": sum(o.rank == 1 for o in found) / n,
        "hit@5": sum(o.rank <= DEFAULT_TOP for o in found) / n,
        "mrr@10": sum(1 / o.rank for o in found) / n,
        "highlight": sum(bool(o.highlighted) for o in found) / max(1, len(found)),
        "answerable_flagged": sum(not o.answer_found for o in answerable) / n,
        "unanswerable": len(unanswerable),
        "unanswerable_flagged": sum(not o.answer_found for o in unanswerable) / max(1, len(unanswerable)),
    }
