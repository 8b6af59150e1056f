"""The reader's serving form, as `make install` builds it from the committed weights.

The examples are hand-made German news sentences (none from the training or evaluation data): for each
question, one sentence holds the fact asked for, the other is on the same topic and does not.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from models.encoders import base_digest
from models.reader import Reader, ReaderUnavailable
from models.reader.build import current, sources
from models.reader.recipe import BASE_MODEL_DIR, SERVING_DIR, WEIGHTS_DIR
from text.inputs import sentence_input

# (title, question, answering sentence, same-topic sentence without the fact)
EXAMPLES = [
    ("Feuerwehr Marburg zieht Bilanz", "Wer leitet die Feuerwehr in Marburg?",
     "Leiter der Marburger Feuerwehr ist seit 2019 Thomas Berger.",
     "Die Feuerwehr in Marburg rückte im vergangenen Jahr zu mehr als 800 Einsätzen aus."),
    ("Stadtmuseum feiert Jubiläum", "Wann wurde das Stadtmuseum eröffnet?",
     "Das Stadtmuseum wurde im Mai 1998 in der alten Tuchfabrik eröffnet.",
     "Das Stadtmuseum zeigt vor allem Gemälde und Möbel aus dem 19. Jahrhundert."),
    ("Sommerfest im Stadtpark", "Wie viele Besucher kamen zum Sommerfest?",
     "Zum Sommerfest kamen in diesem Jahr rund 12.000 Besucher.",
     "Das Sommerfest findet seit 2005 jedes Jahr im Stadtpark statt."),
    ("Sommerfest im Stadtpark", "How many visitors came to the summer festival?",
     "Zum Sommerfest kamen in diesem Jahr rund 12.000 Besucher.",
     "Das Sommerfest findet seit 2005 jedes Jahr im Stadtpark statt."),
]


@pytest.fixture(scope="module")
def reader() -> Reader:
    if not (SERVING_DIR / "serving.json").is_file():
        pytest.fail(f"the reader's serving form is not built at {SERVING_DIR}: run `make install`")
    return Reader()


def test_serving_form_is_built_from_the_committed_weights(reader):
    assert current(SERVING_DIR, sources(WEIGHTS_DIR, BASE_MODEL_DIR, reader.manifest["sources"]["int8"])), \
        "models/reader/serving is older than the committed weights: run `make install`"
    assert reader.manifest["sources"]["base_digest"] == base_digest(BASE_MODEL_DIR)


@pytest.mark.parametrize(("title", "question", "answer", "near_miss"), EXAMPLES)
def test_the_answering_sentence_outscores_a_same_topic_one(reader, title, question, answer, near_miss):
    logits = reader.score(question, [sentence_input(title, near_miss), sentence_input(title, answer)])
    assert logits[1] > logits[0], logits


def test_scores_keep_the_order_given_whatever_the_batching(reader):
    title, question, answer, near_miss = EXAMPLES[0]
    sentences = [sentence_input(title, s) for s in (answer, near_miss, "Kurz.", answer + " " + near_miss)] * 5
    together = reader.score(question, sentences)
    alone = np.array([reader.score(question, [s])[0] for s in sentences[:4]])
    assert together.shape == (20,) and together.dtype == np.float32
    np.testing.assert_allclose(together[:4], alone, atol=1e-5)  # each pair alone: no batch changes a logit
    np.testing.assert_allclose(together[4:8], together[:4], atol=1e-5)
    np.testing.assert_allclose(reader.probability(question, sentences[:1]), 1 / (1 + np.exp(-together[:1])), rtol=1e-5)
    assert reader.score(question, []).shape == (0,)


def test_one_reader_serves_many_threads(reader):
    title, question, answer, near_miss = EXAMPLES[2]
    sentences = [sentence_input(title, answer), sentence_input(title, near_miss)]
    expected = reader.score(question, sentences)
    results, errors = [], []

    def ask() -> None:
        try:
            results.append(reader.score(question, sentences))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 8
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-5)


def test_a_missing_serving_form_says_to_run_make_install(tmp_path):
    with pytest.raises(ReaderUnavailable, match="make install"):
        Reader(tmp_path)
