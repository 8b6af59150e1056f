"""The reader fused with the first stage: one probability per read candidate passage.

The features of a candidate (the first stage's top passages, in its order, each read whole):

- ``reader``: the passage's best sentence logit (the reader's max over the passage's sentences);
- ``reader_gap``: that minus the best such logit among the question's read candidates (0 for the best);
- ``first_gap``: the first stage's score minus its top score (<= 0);
- ``first_inverse_rank``: 1 / the first stage's rank (1-based);
- ``first_confidence``: the first stage's confidence (retrieval.stages.confidence).

``probability = sigmoid(intercept + weights . features)``: how likely the passage holds the answer. The
coefficients are fitted by training/fusion.py on held-out ``train`` questions and shipped in the serving
folder's serving.json (``fusion``), with ``threshold``: answer_found when the top probability reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FEATURES = ("reader", "reader_gap", "first_gap", "first_inverse_rank", "first_confidence")


# The first stage is decisive, and nothing is read, when its best passage's confidence reaches 0.9 and its
# score leads the second's by 0.1: on the XQuAD eval set that skipped reading for 76 % of the German and 21 %
# of the English questions, on the bundled set for 54 % / 17 %, and changed no hit@1 (training.measure report).
DECISIVE_CONFIDENCE = 0.9
DECISIVE_GAP = 0.1


def decisive(first_confidence: float, first_scores: Sequence[float]) -> bool:
    """Whether the first stage's order is decisive (its best passage sure and well ahead): no reading needed."""
    gap = first_scores[0] - first_scores[1] if len(first_scores) > 1 else first_scores[0]
    return first_confidence >= DECISIVE_CONFIDENCE and gap >= DECISIVE_GAP


def sentences_to_read(sentences: Sequence[tuple[int, int]], highlight: tuple[int, int] | None) -> list[int]:
    """Which sentence of a passage the reader reads: the first stage's best, where its highlight begins (the
    highlight may take in the next sentence too, :func:`retrieval.stages.coherence.linked_span`; the shown span
    links it again). Reading only that one keeps a question to one pair per passage, the two read passages one
    round on two cores. Against reading every sentence of the highlight (2.4 a read question), on the records of
    training.measure with the committed reader: hit@1 and MRR@10 equal on the XQuAD eval set and the bundled
    set, the highlight shown (linked) equal on the bundled set, 0.862 against 0.864 (German) and 0.842 against
    0.844 (English) on XQuAD; and reading the highlighted sentences instead of every sentence of the first 3
    passages had kept the gain at 2.4 instead of about 7 (models/reader/MODEL_CARD.md)."""
    if highlight is None:
        return list(range(len(sentences)))
    chosen = [i for i, (s, e) in enumerate(sentences) if s < highlight[1] and e > highlight[0]]
    return chosen[:1] or list(range(len(sentences)))


def feature_rows(reader_best: Sequence[float], first_scores: Sequence[float],
                 first_confidence: Sequence[float]) -> np.ndarray:
    """One row of FEATURES per candidate; all three lists in the first stage's order (best first)."""
    best = np.asarray(reader_best, dtype=np.float64)
    scores = np.asarray(first_scores, dtype=np.float64)
    if best.size == 0:
        return np.zeros((0, len(FEATURES)))
    ranks = np.arange(1, best.size + 1, dtype=np.float64)
    return np.column_stack([best, best - best.max(), scores - scores[0], 1.0 / ranks,
                            np.asarray(first_confidence, dtype=np.float64)])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))


def probabilities(rows: np.ndarray, fusion: dict) -> np.ndarray:
    """sigmoid(intercept + rows . weights), with ``fusion`` as serving.json / weights/fusion.json hold it."""
    weights = np.array([fusion["weights"][name] for name in FEATURES], dtype=np.float64)
    return sigmoid(fusion["intercept"] + rows @ weights)
