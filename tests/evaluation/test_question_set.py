"""Regression guard on the hand-written question set (data/questions) over the bundled articles:
paraphrased questions, follow-ups, and questions the articles cannot answer. The floors sit below
what `fundstelle eval --set bundled` measures (BENCHMARKS.md), so they catch breakage, not noise."""

import pytest

from evaluation.harness import evaluate_set, set_metrics
from evaluation.questionset import read_question_set
from retrieval.followup import contextualise, is_elliptic
from tests.paths import REPO_ROOT

# Measured (onnx-int8): German hit@1 0.78, hit@5 0.99, highlight 0.93; English hit@5 0.89, highlight 0.76.
FLOORS = {
    "de": {"hit@1": 0.7, "hit@5": 0.93, "highlight": 0.85},
    "en": {"hit@5": 0.8, "highlight": 0.65},
}
# "No answer": measured 0.52 of the unanswerable questions flagged (all off-topic ones), 0.05 of the answerable.
MIN_UNANSWERABLE_FLAGGED = 0.35
MAX_ANSWERABLE_FLAGGED = 0.1


@pytest.fixture(scope="module")
def outcomes(engine):
    return evaluate_set(engine.searcher, read_question_set(REPO_ROOT / "data" / "questions"))


@pytest.mark.parametrize("language", ["de", "en"])
def test_quality_floor(outcomes, language):
    result = set_metrics(outcomes, language)
    low = {k: round(result[k], 3) for k, floor in FLOORS[language].items() if result[k] < floor}
    assert not low, f"{language}: below the floor {FLOORS[language]}: {low} (all: {result})"


def test_no_answer_is_said_when_there_is_none(outcomes):
    result = set_metrics(outcomes)
    assert result["unanswerable_flagged"] >= MIN_UNANSWERABLE_FLAGGED, result
    assert result["answerable_flagged"] <= MAX_ANSWERABLE_FLAGGED, result


def test_follow_ups_are_found_with_their_context(outcomes):
    follow_ups = [o for o in outcomes if "follow-up" in o.kinds]
    assert len(follow_ups) >= 8
    assert sum(o.rank is not None and o.rank <= 5 for o in follow_ups) / len(follow_ups) >= 0.7


@pytest.mark.parametrize(("question", "elliptic"), [
    ("Und im Jahr davor?", True), ("Und wer sagt das?", True), ("And who reported that?", True),
    ("Wie viele nordkoreanische Soldaten sind in Russland?", False),
    ("How many North Korean soldiers are in Russia?", False),
])
def test_elliptic_questions_are_told_apart(question, elliptic):
    assert is_elliptic(question) == elliptic
    history = ["Wie viele Raketen hat Nordkorea geliefert?"]
    assert (contextualise(question, history) != question) == elliptic
    assert contextualise(question, []) == question
