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


def probabilities(rows: np.ndarray, fusion: dict) -> np.ndarray:
    """sigmoid(intercept + rows . weights), with ``fusion`` as serving.json / weights/fusion.json hold it."""
    weights = np.array([fusion["weights"][name] for name in FEATURES], dtype=np.float64)
    z = fusion["intercept"] + rows @ weights
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))
