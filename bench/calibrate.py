"""Fit the "no answer" confidence (retrieval/confidence.py) and show how it separates.

Two kinds of questions the archive cannot answer:
- XQuAD questions whose paragraph is not in the index: the first --articles XQuAD articles,
  paragraphs of the even-numbered ones indexed, the odd ones left out, among --distractors
  10kGNAD news articles; German and English questions of all of them.
- the unanswerable questions of the hand-written set (data/questions) over the bundled corpus.
Every question's first passage gives (best-sentence cosine, share of the question's terms),
labelled answerable or not; a logistic regression on them gives the coefficients.

    .venv/bin/python bench/calibrate.py [--articles 16] [--distractors 300]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluation.cache import CachingEncoder  # noqa: E402
from evaluation.datasets import (  # noqa: E402
    DEFAULT_CONTEXTS,
    DEFAULT_DISTRACTORS,
    _squad,
    gnad_articles,
    squad_articles,
    squad_questions,
)
from evaluation.harness import evaluate_set  # noqa: E402
from evaluation.indexes import EVAL_ROOT, open_index  # noqa: E402
from evaluation.questionset import SetQuestion, read_question_set  # noqa: E402
from indexer.config import Settings  # noqa: E402
from indexer.encoders import load_encoder  # noqa: E402
from indexer.readers import ReadError, read_articles  # noqa: E402
from retrieval import confidence  # noqa: E402
from retrieval.retrievers import IndexRetriever  # noqa: E402
from retrieval.searcher import Searcher  # noqa: E402


def xquad_held_out(articles: int, distractors: int) -> tuple[list, list[SetQuestion]]:
    contexts = _squad(DEFAULT_CONTEXTS)
    gold = squad_articles(contexts, articles)
    kept = [a for a in gold if int(a.doc_id.split("-")[1]) % 2 == 0]
    questions = []
    for lang, path in (("de", DEFAULT_CONTEXTS), ("en", DEFAULT_CONTEXTS.parent / "xquad.en.json")):
        found, _ = squad_questions(contexts, _squad(path), articles)
        for q in found:
            answerable = int(q.doc_id.split("-")[1]) % 2 == 0
            questions.append(SetQuestion(f"{lang}-{q.qid}", lang, q.text, q.answers if answerable else (),
                                         frozenset([q.doc_id]) if answerable else frozenset(), ()))
    return kept + gnad_articles(DEFAULT_DISTRACTORS, distractors), questions


def outcomes_of(articles, questions, encoder, settings):
    index, _ = open_index(articles, encoder, settings, None, progress=True, log=lambda *a: print(*a, file=sys.stderr))
    try:
        return evaluate_set(Searcher(IndexRetriever(index), encoder), questions, progress=True)
    finally:
        index.store.close()


def rates(outcomes, predict) -> dict[str, float]:
    pos = [o for o in outcomes if o.answerable]
    neg = [o for o in outcomes if not o.answerable]
    return {"answerable_flagged": sum(not predict(o) for o in pos) / max(1, len(pos)),
            "unanswerable_flagged": sum(not predict(o) for o in neg) / max(1, len(neg)),
            "answerable": len(pos), "unanswerable": len(neg)}


def main() -> int:
    from sklearn.linear_model import LogisticRegression

    p = argparse.ArgumentParser()
    p.add_argument("--articles", type=int, default=16)
    p.add_argument("--distractors", type=int, default=300)
    opts = p.parse_args()
    settings = Settings()
    encoder = CachingEncoder(load_encoder(settings), EVAL_ROOT / "embeddings.sqlite3")
    xquad = outcomes_of(*xquad_held_out(opts.articles, opts.distractors), encoder, settings)
    bundled_articles = [a for a in read_articles([ROOT / "data" / "corpus"]) if not isinstance(a, ReadError)]
    bundled = outcomes_of(bundled_articles, read_question_set(ROOT / "data" / "questions"), encoder, settings)
    every = xquad + bundled
    features = np.array([[o.cosine, o.coverage, o.lang != "de"] for o in every], dtype=float)
    labels = np.array([o.answerable for o in every])
    model = LogisticRegression(C=10.0, class_weight="balanced").fit(features, labels)
    (cos_w, cov_w, en_w), intercept = model.coef_[0], model.intercept_[0]

    def fitted(o) -> bool:
        return intercept + cos_w * o.cosine + cov_w * o.coverage + en_w * (o.lang != "de") >= 0

    def shipped(o) -> bool:
        return o.answer_found

    result = {
        "fitted": {"INTERCEPT": round(float(intercept), 2), "COSINE": round(float(cos_w), 2),
                   "COVERAGE_DE": round(float(cov_w), 2), "OTHER_LANGUAGE": round(float(en_w), 2)},
        "shipped": {"INTERCEPT": confidence.INTERCEPT, "COSINE": confidence.COSINE,
                    "COVERAGE_DE": confidence.COVERAGE_DE, "OTHER_LANGUAGE": confidence.OTHER_LANGUAGE},
        "xquad_fitted": rates(xquad, fitted), "bundled_fitted": rates(bundled, fitted),
        "xquad_shipped": rates(xquad, shipped), "bundled_shipped": rates(bundled, shipped),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
