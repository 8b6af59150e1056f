"""Fit the "no answer" confidence (retrieval/stages/confidence.py) and show how it separates.

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

from core.settings import Settings  # noqa: E402
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
from indexer.ingest.readers import ReadError, read_articles  # noqa: E402
from models.encoders import load_encoder  # noqa: E402
from retrieval.searcher import Searcher  # noqa: E402
from retrieval.stages import confidence  # noqa: E402


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
        return evaluate_set(Searcher.over(index, encoder), questions, progress=True)
    finally:
        index.store.close()


def archive_coverage(articles, questions) -> dict[str, float]:
    """Per question: the share of its content terms that occur anywhere in the indexed articles."""
    from retrieval.followup import contextualise
    from text.terms import terms

    vocabulary = {t for a in articles for t in terms(a.text)}
    out = {}
    for q in questions:
        wanted = set(terms(contextualise(q.text, list(q.history))))
        out[q.qid] = sum(t in vocabulary for t in wanted) / len(wanted) if wanted else 0.0
    return out


def rates(outcomes, predict) -> dict[str, float]:
    pos = [o for o in outcomes if o.answerable]
    neg = [o for o in outcomes if not o.answerable]
    return {"answerable_flagged": sum(not predict(o) for o in pos) / max(1, len(pos)),
            "unanswerable_flagged": sum(not predict(o) for o in neg) / max(1, len(neg)),
            "answerable": len(pos), "unanswerable": len(neg)}


MAX_ANSWERABLE_FLAGGED = 0.05  # per set: "nothing answers" must rarely be said when something does


def fit(features, labels, sets) -> tuple[np.ndarray, float]:
    """Logistic regression coefficients, the intercept shifted so that at most MAX_ANSWERABLE_FLAGGED of
    each set's answerable questions fall below the 0.5 threshold."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000).fit(features, labels)
    z = model.decision_function(features)
    cut = min(np.quantile(z[(sets == s) & labels], MAX_ANSWERABLE_FLAGGED, method="lower") for s in np.unique(sets))
    return model.coef_[0], float(model.intercept_[0] - cut)


def cross_validate(features, labels, sets, folds: int = 5) -> dict[str, dict[str, float]]:
    """Flag rates of each set when every question is judged by coefficients fitted without it."""
    from sklearn.model_selection import StratifiedKFold

    flagged = np.zeros(len(labels), dtype=bool)
    strata = sets * 2 + labels
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(features, strata):
        weights, intercept = fit(features[train], labels[train], sets[train])
        flagged[test] = features[test] @ weights + intercept < 0
    return {name: {"answerable_flagged": round(float(flagged[(sets == s) & labels].mean()), 3),
                   "unanswerable_flagged": round(float(flagged[(sets == s) & ~labels].mean()), 3)}
            for s, name in ((0, "xquad"), (1, "bundled"))}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--articles", type=int, default=16)
    p.add_argument("--distractors", type=int, default=300)
    opts = p.parse_args()
    settings = Settings()
    encoder = CachingEncoder(load_encoder(settings), EVAL_ROOT / "embeddings.sqlite3")
    xquad_articles, xquad_questions = xquad_held_out(opts.articles, opts.distractors)
    xquad = outcomes_of(xquad_articles, xquad_questions, encoder, settings)
    bundled_articles = [a for a in read_articles([ROOT / "data" / "corpus"]) if not isinstance(a, ReadError)]
    bundled_questions = read_question_set(ROOT / "data" / "questions")
    bundled = outcomes_of(bundled_articles, bundled_questions, encoder, settings)
    vocab = archive_coverage(xquad_articles, xquad_questions) | archive_coverage(bundled_articles, bundled_questions)
    with open(ROOT / "bench" / "results" / "calibration-features.jsonl", "w") as f:
        for name, part in (("xquad", xquad), ("bundled", bundled)):
            for o in part:
                f.write(json.dumps({"set": name, **o.__dict__, "kinds": list(o.kinds),
                                    "archive_coverage": vocab[o.qid]}) + "\n")
    every = xquad + bundled
    features = np.array([[o.cosine, o.coverage, o.lang != "de"] for o in every], dtype=float)
    labels = np.array([o.answerable for o in every])
    sets = np.array([0] * len(xquad) + [1] * len(bundled))
    (cos_w, cov_w, en_w), intercept = fit(features, labels, sets)
    cross_validated = cross_validate(features, labels, sets)

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
        "cross_validated": cross_validated,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
