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


def test_a_reader_on_the_encoders_tokenizer_reads_as_with_its_own(reader, embedder):
    """The service's reader borrows the encoder's tokenizer (one 280 MB copy, not two): the same logits as a
    reader with its own, also while other threads embed with the encoder (each sets its own truncation and
    padding on the shared tokenizer, under the lock they share)."""
    encoder = embedder
    shared = encoder.shared_tokenizer()
    assert shared is not None and shared.tokenizer is encoder.shared_tokenizer().tokenizer  # one object
    borrowing = Reader(shared=shared)
    assert borrowing.tokenizer is shared.tokenizer
    questions = [(question, [sentence_input(title, answer), sentence_input(title, near_miss)])
                 for title, question, answer, near_miss in EXAMPLES]
    expected = [reader.score(q, s) for q, s in questions]
    long_texts = [" ".join([answer] * 40) for _, _, answer, _ in EXAMPLES]  # past the reader's 128 tokens
    errors: list[Exception] = []

    def embed() -> None:
        try:
            for _ in range(2):
                encoder.encode_passages(long_texts)
                encoder.encode_queries(["Wie viele Besucher kamen?"])
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=embed) for _ in range(2)]
    for t in threads:
        t.start()
    for _ in range(2):
        for (q, s), want in zip(questions, expected, strict=True):
            np.testing.assert_allclose(borrowing.score(q, s), want, atol=1e-5)
        long_pair = borrowing.score(questions[0][0], [sentence_input("T", long_texts[0])])
        np.testing.assert_allclose(long_pair, reader.score(questions[0][0], [sentence_input("T", long_texts[0])]),
                                   atol=1e-5)
    for t in threads:
        t.join()
    assert not errors


def test_a_reader_keeps_its_own_tokenizer_when_the_encoders_is_another_file(reader, tmp_path):
    from models.encoders import SharedTokenizer

    other = tmp_path / "tokenizer.json"
    other.write_text("{}")
    foreign = object()
    borrowing = Reader(shared=SharedTokenizer(foreign, threading.Lock(), other))
    assert borrowing.tokenizer is not foreign
    np.testing.assert_allclose(borrowing.score(EXAMPLES[0][1], [sentence_input(EXAMPLES[0][0], EXAMPLES[0][2])]),
                               reader.score(EXAMPLES[0][1], [sentence_input(EXAMPLES[0][0], EXAMPLES[0][2])]),
                               atol=1e-5)
