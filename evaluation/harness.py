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
from retrieval.searcher import Searcher

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
