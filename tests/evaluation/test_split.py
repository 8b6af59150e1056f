"""XQuAD's fixed split: quality is reported on the `eval` articles, models train on `train` only."""

import json

import pytest

from evaluation.datasets import EvalError, load_dataset
from tests.paths import SHARED_DATA

XQUAD_DE = SHARED_DATA / "xquad" / "xquad.de.json"
SPLIT = SHARED_DATA / "xquad" / "split.json"

pytestmark = pytest.mark.skipif(not SPLIT.is_file(), reason=f"no {SPLIT}")


def _indexes(name: str) -> set[int]:
    return {entry["index"] for entry in json.loads(SPLIT.read_text())[name]}


@pytest.mark.parametrize("split", ["eval", "train"])
def test_a_split_holds_only_its_own_articles_and_their_questions(split):
    data = load_dataset(XQUAD_DE, split=split)
    articles = {int(a.doc_id.split("-")[1]) for a in data.articles}
    assert articles == _indexes(split) and not articles & _indexes({"eval": "train", "train": "eval"}[split])
    assert {int(q.doc_id.split("-")[1]) for q in data.questions} <= articles
    assert len(data.questions) == {"eval": 578, "train": 612}[split]


def test_a_split_needs_its_file(tmp_path):
    contexts = tmp_path / "xquad.de.json"
    contexts.write_text(XQUAD_DE.read_text())
    with pytest.raises(EvalError, match="split.json"):
        load_dataset(contexts, split="eval")
