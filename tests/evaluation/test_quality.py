"""Regression guard for retrieval quality: a small XQuAD slice through `fundstelle eval`'s own code.

Two XQuAD articles' paragraphs plus a few 10kGNAD news articles as distractors, German
questions and English questions against the German paragraphs. The floors sit well
below what this slice measures (see BENCHMARKS.md, "Retrieval quality"), so they catch
breakage (a broken fusion, lost stemming, highlights off by a sentence), not noise.
"""

from pathlib import Path

import pytest

from core.settings import Settings
from evaluation.cache import CachingEncoder, prefill
from evaluation.command import main
from evaluation.datasets import load_dataset
from evaluation.harness import evaluate, metrics
from evaluation.indexes import open_index
from retrieval.searcher import Searcher
from tests.paths import SHARED_DATA

XQUAD_DE = SHARED_DATA / "xquad" / "xquad.de.json"
XQUAD_EN = SHARED_DATA / "xquad" / "xquad.en.json"
GNAD = SHARED_DATA / "10kGNAD" / "test.csv"

pytestmark = pytest.mark.skipif(
    not (XQUAD_DE.is_file() and XQUAD_EN.is_file()),
    reason=f"XQuAD not found at {XQUAD_DE.parent} (the shared evaluation data lives beside the repository)",
)

ARTICLES, DISTRACTORS, QUESTIONS = 2, 6, 60
# Measured on this slice: German R@5 1.00, MRR 0.99, highlight 0.83; English R@5 1.00, MRR 0.99, highlight 0.73.
FLOORS = {
    "de": {"recall@5": 0.85, "mrr@10": 0.75, "highlight": 0.6},
    "en": {"recall@5": 0.8, "mrr@10": 0.65, "highlight": 0.5},
}


@pytest.fixture(scope="module")
def slice_index(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("quality")
    data = load_dataset(XQUAD_DE, None, GNAD if GNAD.is_file() else None, max_articles=ARTICLES,
                        max_distractors=DISTRACTORS, limit=QUESTIONS)
    english = load_dataset(XQUAD_DE, XQUAD_EN, None, max_articles=ARTICLES, limit=QUESTIONS).questions
    caching = CachingEncoder(embedder, folder / "embeddings.sqlite3")  # batches the work, same vectors
    index, _ = open_index(data.articles, caching, Settings(), folder / "index", progress=False, log=lambda *a: None)
    prefill(caching, index, [q.text for q in data.questions + english])
    yield index, caching, {"de": data.questions, "en": english}
    index.store.close()


@pytest.mark.parametrize("language", ["de", "en"])
def test_quality_floor(slice_index, language):
    index, encoder, questions = slice_index
    assert len(questions[language]) >= 40
    result = metrics(evaluate(Searcher.over(index, encoder), questions[language]))
    low = {k: round(result[k], 3) for k, floor in FLOORS[language].items() if result[k] < floor}
    assert not low, f"{language}: below the floor {FLOORS[language]}: {low} (all: {result})"


def test_the_slice_is_what_the_pipeline_indexed(slice_index):
    index, _, questions = slice_index
    documents, passages = index.counts()
    gold = {q.doc_id for q in questions["de"]}
    assert documents >= len(gold) and passages >= documents
    assert all(index.store.document(doc_id) is not None for doc_id in gold)


def test_eval_command_help_and_bad_inputs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0 and "--distractors" in capsys.readouterr().out
    assert main(["--contexts", str(Path("/nonexistent/xquad.json"))]) == 2
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["--questions", str(broken)]) == 2
    assert "cannot read SQuAD file" in capsys.readouterr().err
