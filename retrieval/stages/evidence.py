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
from typing import TYPE_CHECKING

import numpy as np

from retrieval.hits import Hit
from retrieval.query import Language, Mode, Query
from retrieval.types import Candidates, Evidence, Ranking
from store.types import StoredPassage
from text.inputs import sentence_input
from text.terms import terms

if TYPE_CHECKING:
    from models.types import Encoder

LEXICAL_WEIGHT = 0.02  # per shared term (German questions): breaks near-ties towards the question's words
CACHE_SIZE = 20_000  # sentence vectors (384 floats each: about 30 MB)
BATCH = 8  # sentences per forward pass, sorted by length: a batch is padded to its longest sentence


def sentence_inputs(passage: StoredPassage) -> list[tuple[int, int, str]]:
    """The candidate spans of a passage and the text the model reads for each (as at index time)."""
    spans = passage.sentences or [(0, len(passage.text))]
    return [(s, e, sentence_input(passage.title, passage.text[s:e])) for s, e in spans]


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
            best, second = sorted(range(len(scores)), key=lambda i: -scores[i])[:2]  # stable: argmax's pick first
            out.append(Evidence((spans[best][0], spans[best][1]), float(np.max(cosines)),
                                (spans[second][0], spans[second][1]), scores[best] - scores[second]))
        return out


# Candidates whose sentences are scored before the final order is chosen. Fixed (not derived
# from top_k), so that the first k answers are the same whatever k is asked for.
EVIDENCE_POOL = 20


class SentenceEvidence:
    """Each candidate of the pool gets its best sentence, and that sentence's cosine counts like a
    second dense match: a passage whose one sentence answers beats one that is only on the topic."""

    name = "evidence"

    def __init__(self, highlighter: Highlighter, pool: int = EVIDENCE_POOL):
        self.highlighter = highlighter
        self.pool = pool

    def __call__(self, ranking: Ranking) -> Ranking:
        query, found = ranking.query, ranking.found
        if query.mode != Mode.HYBRID or len(found.dense) <= 1:
            return ranking
        pool = [found.passages[pid] for pid, _ in ranking.order[: self.pool]]
        ranking.evidence.update(zip((p.id for p in pool), self.highlighter.analyse(query, pool), strict=True))
        ranking.order = weigh(query, found, ranking.order, ranking.evidence)
        return ranking


def weigh(query: Query, found: Candidates, order: list[tuple[int, float]],
          evidence: dict[int, Evidence]) -> list[tuple[int, float]]:
    """Add each candidate's best-sentence cosine, scaled like the passage cosines were in fusion
    (it counts like a second dense match). Candidates outside the evidence pool count with their
    passage cosine, so every candidate has a score on one scale."""
    cosines = [s for _, s in found.dense]
    low, spread = min(cosines), max(cosines) - min(cosines)
    if spread <= 0:
        return order
    weight = 1 - query.lexical_weight
    rescored = []
    for pid, score in order:
        sentence = evidence[pid].cosine if pid in evidence else None
        cosine = sentence if sentence is not None else found.cosines[pid]
        rescored.append((pid, score + weight * (cosine - low) / spread))
    return sorted(rescored, key=lambda item: item[1], reverse=True)


class Highlights:
    """The chosen candidates as hits, each with its best sentence highlighted (read now for those the
    evidence stage did not read: their scores are final already)."""

    name = "highlight"

    def __init__(self, highlighter: Highlighter):
        self.highlighter = highlighter

    def __call__(self, ranking: Ranking) -> Ranking:
        found, evidence = ranking.found, ranking.evidence
        missing = [found.passages[pid] for pid, _ in ranking.order if pid not in evidence]
        if missing:
            evidence.update(zip((p.id for p in missing), self.highlighter.analyse(ranking.query, missing), strict=True))
        hits = []
        for pid, score in ranking.order:
            sentence = evidence[pid]
            cosine = sentence.cosine if sentence.cosine is not None else found.cosines.get(pid, 0.0)
            hits.append(Hit(found.passages[pid], score, [sentence.span], cosine))
        ranking.hits = hits
        return ranking
