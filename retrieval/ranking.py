"""The ranking: an ordered list of stages, each ``Ranking`` in, ``Ranking`` out (:class:`retrieval.types.Stage`).

1. **fusion** (:mod:`retrieval.stages.fusion`): one score per candidate from the dense and BM25 scores;
2. **evidence** (:mod:`retrieval.stages.evidence`): the best sentence of each of a fixed pool of
   candidates; its cosine counts like a second dense match;
3. **variety** (:mod:`retrieval.stages.variety`): the answer's ``top_k``, at most two passages of an
   article and no near-copies before the others;
4. **highlight** (:mod:`retrieval.stages.evidence`): the chosen candidates as hits, best sentence marked;
5. **coherence** (:mod:`retrieval.stages.coherence`): a highlight takes in the next sentence that continues it;
6. **windows** (:mod:`retrieval.stages.windows`): a best sentence at a passage's edge brings its
   neighbouring sentence of the article along;
7. **confidence** (:mod:`retrieval.stages.confidence`): each hit's confidence on a fixed scale;
8. **reader** (:mod:`retrieval.stages.reading`): a model trained here reads the first passages sentence by
   sentence; fused with the first stage, it orders them, marks the answer and gives the confidence.

``skip`` switches stages off by name (`fundstelle eval --skip`, bench/levers.py): fusion and highlight
make the answer and cannot be skipped; without variety the order is only cut to top_k.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from retrieval.stages.coherence import Coherence
from retrieval.stages.confidence import Confidence
from retrieval.stages.evidence import Highlighter, Highlights, SentenceEvidence
from retrieval.stages.fusion import Fusion
from retrieval.stages.reading import Reading
from retrieval.stages.variety import Variety
from retrieval.stages.windows import SPARE, Windows
from retrieval.types import Ranking, Stage, WindowSource

if TYPE_CHECKING:
    from models.reader import Reader

REQUIRED = frozenset({"fusion", "highlight"})
OPTIONAL = ("evidence", "variety", "coherence", "windows", "confidence", "reader")


def stages(highlighter: Highlighter, windows: WindowSource | None, skip: Iterable[str] = (),
           reader: Reader | None = None) -> list[Stage]:
    """The product's ranking, in order, without the stages named in ``skip`` (and without reading when no
    ``reader`` is given)."""
    skip = frozenset(skip)
    if unknown := skip - set(OPTIONAL) - {"followups"}:
        raise ValueError(f"cannot skip {', '.join(sorted(unknown))}: the optional stages are {', '.join(OPTIONAL)}"
                         + (f"; {', '.join(sorted(unknown & REQUIRED))} make the answer" if unknown & REQUIRED else ""))
    pool = Reading.pool(reader) if reader is not None and "reader" not in skip else 0
    widening = windows is not None and "windows" not in skip
    chain: list[Stage] = [
        Fusion(),
        SentenceEvidence(highlighter),
        Variety(pool=pool, penalty=0.0 if "variety" in skip else 1.0,  # off: a plain cut to top_k
                spare=SPARE if widening else 0),
        Highlights(highlighter),
        Coherence(),
        *([Windows(windows, link="coherence" not in skip, pool=pool)] if widening else []),
        Confidence(),
        *([Reading(reader, link="coherence" not in skip)] if reader is not None else []),
    ]
    return [stage for stage in chain if stage.name not in skip]


def run(chain: list[Stage], ranking: Ranking) -> Ranking:
    for stage in chain:
        ranking = stage(ranking)
    return ranking
