"""Reading: a model trained here (models/reader) reads the first passages sentence by sentence, and its
verdict, fused with the first stage's, orders them, marks the answer and says how sure the answer is.

The reader scores the first stage's highlighted sentences of the first ``read`` passages (as the highlighter
reads them: a few title words, then the sentence) for "this sentence holds the answer". A passage's best sentence logit, its gap to
the best of the question, and the first stage's score gap, rank and confidence give one probability per
passage (:mod:`models.reader.fusion`, fitted on held-out training questions by training/fusion.py). The read
passages are ordered by it; each one's highlight becomes its best-read sentence (with the next one when that
continues it); its confidence is the probability on the product's fixed scale: shifted so that the answer
threshold fitted for the question's language sits at 0.5, as :mod:`retrieval.stages.confidence`'s does.
Passages below the read ones keep the first stage's order, never more confident than the one above them.
When the first stage is decisive (its best passage sure and well ahead: :func:`models.reader.fusion.decisive`)
its order and confidence stand: measured to change no first answer, and half of the German questions are
answered at the first stage's cost. Where the first passage's two best sentences are close
(:data:`CLOSE_SENTENCES`), the reader also reads the runner-up, for the highlight only.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from models.reader.fusion import decisive, feature_rows, probabilities, sentences_to_read
from retrieval.hits import Hit
from retrieval.query import Language
from retrieval.stages.coherence import linked_span
from retrieval.stages.confidence import sigmoid
from retrieval.types import Ranking
from text.inputs import sentence_input

if TYPE_CHECKING:
    from models.reader import Reader


# A decisive first passage's two best sentences are read when the best leads the runner-up by less than this
# (the evidence stage's score: cosine plus the shared-term bonus). Chosen on the gold passages of the XQuAD train
# articles (`python -m training.highlight`), answering sentence picked (German / English questions): first
# stage alone 0.843 / 0.789; reading both always 0.862 / 0.838; below a lead of 0.01 0.849 / 0.817, reading
# 9 % / 19 % of them (0.02: 0.845 / 0.825, reading 16 % / 38 %). Most decisive answers stay unread and cost what
# the first stage costs: /api/ask with the reader stays within 2x the first stage's p50 (bench/reader_cost.py).
CLOSE_SENTENCES = 0.01


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def on_fixed_scale(probability: float, threshold: float) -> float:
    """``probability`` shifted on the logit scale so that ``threshold`` becomes 0.5 (order kept)."""
    return sigmoid(_logit(probability) - _logit(threshold))


class Reading:
    name = "reader"

    def __init__(self, reader: Reader, link: bool = True):
        fusion = reader.fusion
        if not fusion:
            raise ValueError(f"the reader in {reader.folder} has no fusion (weights/fusion.json); rebuild it")
        self.reader = reader
        self.fusion = fusion
        self.read = int(fusion["read"])  # passages read per question
        self.link = link  # the coherence stage's rule for the highlight (off when that stage is)

    @staticmethod
    def pool(reader: Reader) -> int:
        """How many passages the first stage must choose for the reader (it reads them before the cut to top_k)."""
        return int((reader.fusion or {}).get("read", 0))

    def threshold(self, language: Language) -> float:
        by_language = self.fusion.get("thresholds") or {}
        return by_language.get("de" if language == Language.DE else "other", self.fusion["threshold"])

    def __call__(self, ranking: Ranking) -> Ranking:
        hits = ranking.hits
        chosen = hits[: self.read]
        if not chosen:
            return ranking
        if decisive(hits[0].confidence, [h.score for h in hits[:2]]):  # sure and well ahead: the order stands
            ranking.hits = [self._placed(ranking, hits[0]), *_below(hits[0], hits[1 : ranking.top_k], keep_scores=True)]
            return ranking
        spans = [h.passage.sentences or [(0, len(h.passage.text))] for h in chosen]
        read = [sentences_to_read(own, h.highlights[0] if h.highlights else None) for h, own in zip(chosen, spans,
                                                                                                   strict=True)]
        # the first passage's runner-up sentence, when close, is read for the highlight only: the fusion was
        # fitted on one sentence a passage, so its feature stays the first stage's best sentence's logit
        extra = _close_runner_up(ranking, chosen[0], spans[0], read[0])
        places = [[*read[0], *([extra] if extra is not None else [])], *read[1:]]
        inputs = [_reading_input(h, own[i]) for h, own, which in zip(chosen, spans, places, strict=True) for i in which]
        logits = self.reader.score(ranking.query.text, inputs)  # one call for the question
        best, at, row = [], [], 0
        for which, place in zip(read, places, strict=True):
            part = logits[row : row + len(place)]
            best.append(float(part[: len(which)].max()))
            at.append(place[int(part.argmax())])
            row += len(place)
        features = feature_rows(best, [h.score for h in chosen], [h.confidence for h in chosen])
        fused = probabilities(features, self.fusion).tolist()
        threshold = self.threshold(ranking.query.language)
        done = []
        for hit, own, n, p in zip(chosen, spans, at, fused, strict=True):
            span = linked_span(hit.passage.text, own, n) if self.link else own[n]
            done.append(replace(hit, score=p, highlights=[span], confidence=on_fixed_scale(p, threshold)))
        done.sort(key=lambda h: -h.score)
        ranking.hits = done + _below(done[-1], hits[self.read :])
        ranking.hits = ranking.hits[: ranking.top_k]
        return ranking

    def _placed(self, ranking: Ranking, hit: Hit) -> Hit:
        """A decisive first passage with its highlight where the reader puts it, when the first stage's two best
        sentences of it are near (:data:`CLOSE_SENTENCES`): on the better of the two (two pairs, one round on two
        cores). Its order and confidence stay the first stage's. The sentence that names the question's topic
        often wins by cosine while the next or the previous one holds the fact."""
        spans = hit.passage.sentences or [(0, len(hit.passage.text))]
        current = sentences_to_read(spans, hit.highlights[0] if hit.highlights else None)
        other = _close_runner_up(ranking, hit, spans, current)
        if other is None:
            return hit
        logits = self.reader.score(ranking.query.text, [_reading_input(hit, spans[i]) for i in (current[0], other)])
        if logits[1] <= logits[0]:
            return hit
        span = linked_span(hit.passage.text, spans, other) if self.link else spans[other]
        return replace(hit, highlights=[span, *hit.highlights[1:]])


def _reading_input(hit: Hit, span: tuple[int, int]) -> str:
    """What the reader reads of one sentence of ``hit``'s passage (as it was trained: text.inputs.sentence_input)."""
    return sentence_input(hit.passage.title, hit.passage.text[span[0] : span[1]])


def _close_runner_up(ranking: Ranking, hit: Hit, spans: list[tuple[int, int]], read: list[int]) -> int | None:
    """The first stage's second best sentence of ``hit`` when the best (the one sentence in ``read``) leads it by
    less than :data:`CLOSE_SENTENCES`; else None."""
    other = _runner_up(ranking, hit, spans)
    if len(read) != 1 or other is None or other == read[0]:
        return None
    return other if ranking.evidence[hit.passage.id].lead < CLOSE_SENTENCES else None


def _runner_up(ranking: Ranking, hit: Hit, spans: list[tuple[int, int]]) -> int | None:
    """The index in ``spans`` of the first stage's second best sentence of ``hit``'s passage (the evidence
    stage's, moved to the hit's offsets when a context window widened the passage); None when there is none."""
    evidence = ranking.evidence.get(hit.passage.id)
    stored = ranking.found.passages.get(hit.passage.id)
    if evidence is None or evidence.runner_up is None or stored is None:
        return None
    shift = stored.char_start - hit.passage.char_start
    span = (evidence.runner_up[0] + shift, evidence.runner_up[1] + shift)
    return spans.index(span) if span in spans else None


def _below(last: Hit, rest: list[Hit], keep_scores: bool = False) -> list[Hit]:
    """The passages not read, in the first stage's order, none more sure than the one above (nor, on the read
    passages' scale, scoring higher): the order says which passage answers best, the confidence follows it."""
    out, score, confidence = [], last.score, last.confidence
    for hit in rest:
        score, confidence = min(score, hit.confidence), min(confidence, hit.confidence)
        out.append(replace(hit, score=hit.score if keep_scores else score, confidence=confidence))
    return out
