"""Pick the sentence of each passage that best answers the question."""

from __future__ import annotations

import numpy as np

from indexer.embedding import Embedder
from indexer.lexical import terms
from indexer.store import StoredPassage

LEXICAL_WEIGHT = 0.02  # per shared term: breaks near-ties between sentences towards the question's words


class Highlighter:
    def __init__(self, embedder: Embedder):
        self.embedder = embedder

    def run(self, question: str, query_vector: np.ndarray, passages: list[StoredPassage]) -> list[list[tuple[int, int]]]:
        """For each passage, the (start, end) offsets of its best sentence within the passage text."""
        sentences = [(i, s, e) for i, p in enumerate(passages) for s, e in (p.sentences or [(0, len(p.text))])]
        if not sentences:
            return [[] for _ in passages]
        texts = [passages[i].text[s:e] for i, s, e in sentences]
        similarity = self.embedder.encode_passages(texts) @ query_vector
        wanted = set(terms(question))
        best: dict[int, tuple[float, int, int]] = {}
        for (i, s, e), text, sim in zip(sentences, texts, similarity, strict=True):
            score = float(sim) + LEXICAL_WEIGHT * len(wanted & set(terms(text)))
            if i not in best or score > best[i][0]:
                best[i] = (score, s, e)
        return [[best[i][1:]] if i in best else [] for i in range(len(passages))]
