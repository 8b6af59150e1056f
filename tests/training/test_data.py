"""The reader's training data: only XQuAD ``train`` articles (never ``eval``), dev held out, positives hold the answer."""

from __future__ import annotations

import pytest

from tests.paths import SHARED_DATA
from training import data
from training.data import (
    DEV_ARTICLES,
    Mix,
    build_groups,
    read_split,
    squad2_articles,
    squad_it_articles,
    xquad_articles,
)

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "xquad" / "split.json").is_file(),
                                reason=f"the shared data sets are not at {SHARED_DATA}")

SMALL = Mix(xquad_languages=("de", "en"), other_languages=2, squad_it=0, squad2=0, squad2_impossible=0)


def _index(article_key: str) -> int:
    return int(article_key.split(":", 1)[1])


def test_groups_come_from_train_articles_only_never_eval():
    split = read_split()
    titles = {a["title"] for a in data._read_json(data.SPLIT)["eval"]}
    groups = build_groups(SMALL, "fit")
    assert groups
    assert {_index(g.article) for g in groups} <= set(split.train) - set(DEV_ARTICLES)
    german = data._xquad_file("de")
    assert not {german[_index(g.article)]["title"] for g in groups} & titles
    assert all(len(g.inputs) == SMALL.group_size and sum(g.labels) == 1 for g in groups)


def test_squad_it_and_squad2_keep_to_their_parts():
    split = read_split()
    fit = split.part("fit")
    assert {_index(a.key) for a in squad_it_articles(fit)} <= set(fit)
    dev_texts = {p.context for a in squad2_articles("dev") for p in a.paragraphs}
    fit_texts = {p.context for a in squad2_articles("fit") for p in a.paragraphs}
    assert dev_texts and fit_texts and not dev_texts & fit_texts
    xquad_titles = {t.replace("_", " ") for t in {**split.train, **split.eval}.values()}
    assert not {a.title for a in squad2_articles("fit")} & xquad_titles


def test_eval_articles_cannot_be_read_as_training_data():
    split = read_split()
    with pytest.raises(ValueError, match="not train articles"):
        xquad_articles([sorted(split.eval)[0]])
    with pytest.raises(ValueError, match="eval articles are not training data"):
        split.part("eval")


def test_the_positive_sentence_holds_the_answer():
    german = {qa["question"].strip(): qa["answers"][0]["text"] for a in xquad_articles(read_split().part("fit")[:3])
              for p in a.paragraphs for qa in p.qas}
    groups = [g for g in build_groups(SMALL, "fit", max_articles=3) if g.source == "xquad:de>de"]
    assert groups
    for g in groups:
        positive = g.inputs[g.labels.index(1)]
        assert german[g.question] in positive or german[g.question].split()[0] in positive
