"""Evidence: the sentence of each passage that best answers the question, and how well it does.

Each sentence is embedded with the passage prompt, prefixed with the first words of its
article's title (context, as the passage vector has it: "Er starb 1943." says little on
its own), and scored by cosine with the question's vector. For a German question, shared content terms
break near-ties; an English question shares no words with a German sentence, so there
the model alone decides. When the next sentence continues the best one (it refers back to it,
opens a quotation, answers its question: :mod:`retrieval.stages.coherence`), the highlight takes in both,
for the answer often follows the sentence that names the topic. Sentence vectors are cached (LRU), so passages that come up
again cost nothing, and a one-sentence passage needs no vector at all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrieval.query import Language, Query
from retrieval.stages.coherence import continues
from store.store import StoredPassage
from text.inputs import sentence_input
from text.terms import terms

if TYPE_CHECKING:
    from models.encoders import Encoder

LEXICAL_WEIGHT = 0.02  # per shared term (German questions): breaks near-ties towards the question's words
CACHE_SIZE = 20_000  # sentence vectors (384 floats each: about 30 MB)
BATCH = 8  # sentences per forward pass, sorted by length: a batch is padded to its longest sentence


def sentence_inputs(passage: StoredPassage) -> list[tuple[int, int, str]]:
    """The candidate spans of a passage and the text the model reads for each (as at index time)."""
    spans = passage.sentences or [(0, len(passage.text))]
    return [(s, e, sentence_input(passage.title, passage.text[s:e])) for s, e in spans]


def linked_span(text: str, spans: list[tuple[int, int, str]], best: int) -> tuple[int, int]:
    """The best sentence, with the next one when that continues it (:mod:`retrieval.stages.coherence`): the
    question's words name the topic in one sentence, the answer often follows in the next. Only the
    next: taking in the previous one too measured +0.015 German highlight for longer highlights."""
    start, end = spans[best][0], spans[best][1]
    if best + 1 < len(spans):
        following = spans[best + 1]
        if continues(text[start:end], text[following[0] : following[1]]):
            end = following[1]
    return start, end


@dataclass(frozen=True)
class Evidence:
    span: tuple[int, int]  # the best sentence (and the next, when it continues it), offsets within the passage
    cosine: float | None  # the best sentence's cosine with the question; None for a one-sentence passage


class Highlighter:
    def __init__(self, encoder: Encoder, cache_size: int = CACHE_SIZE):
        self.encoder = encoder
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts``: cached ones, the rest embedded in batches of similar length (less padding)."""
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for t in found:
                self._cache.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            missing.sort(key=len)
            fresh = np.concatenate([self.encoder.encode_passages(missing[i : i + BATCH])
                                    for i in range(0, len(missing), BATCH)])
            found.update(zip(missing, fresh, strict=True))
            with self._lock:
                self._cache.update(zip(missing, fresh, strict=True))
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)

    def analyse(self, query: Query, passages: list[StoredPassage]) -> list[Evidence]:
        """For each passage: its best sentence, and that sentence's cosine with the question.

        Sentence vectors stored at index time are used as they are; only passages of an index
        made without them have their sentences embedded now."""
        lexical_only = query.vector.size == 0  # the lexical ablation has no query vector: shared terms decide
        wanted = set(query.terms) if query.language == Language.DE or lexical_only else set()
        inputs = [sentence_inputs(p) for p in passages]
        stored = [p.sentence_vectors is not None and len(p.sentence_vectors) == len(spans)
                  for p, spans in zip(passages, inputs, strict=True)]
        texts = [text for spans, known in zip(inputs, stored, strict=True) if len(spans) > 1 and not known
                 for *_, text in spans]
        embedded = self._vectors(texts) @ query.vector if texts and not lexical_only else None
        out, row = [], 0
        for passage, spans, known in zip(passages, inputs, stored, strict=True):
            if len(spans) == 1:  # nothing to choose: the passage's own vector says the rest
                out.append(Evidence((spans[0][0], spans[0][1]), None))
                continue
            if lexical_only:
                cosines = np.zeros(len(spans), dtype=np.float32)
            elif known:
                cosines = passage.sentence_vectors @ query.vector
            else:
                cosines = embedded[row : row + len(spans)]
                row += len(spans)
            scores = [float(c) + LEXICAL_WEIGHT * len(wanted & set(terms(passage.text[s:e]))) if wanted else float(c)
                      for c, (s, e, _) in zip(cosines, spans, strict=True)]
            best = int(np.argmax(scores))
            out.append(Evidence(linked_span(passage.text, spans, best), float(np.max(cosines))))
        return out
