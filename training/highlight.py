"""Where a decisive answer's highlight goes: the first stage's best sentence, or the reader's pick of its two best.

    python -m training.highlight [--set dev|xquad-eval]

A decisive first stage (models.reader.fusion.decisive) is not read for its order; its first passage's highlight
is the evidence stage's best sentence, and the sentence that names the question's topic often beats the one
that holds the fact. The reading stage therefore reads the first stage's two best sentences of that passage
when the best leads by less than retrieval.stages.reading.CLOSE_SENTENCES, and highlights the one the reader
prefers. This measures the rule on the gold passages (a question's own paragraph's passages of more than one
sentence that hold its answer in one sentence), German and English questions: how often the highlighted
sentence holds the answer with the first stage alone, with the reader choosing below each margin, and how many
passages that reads. ``dev`` (every XQuAD ``train`` article, over training.candidates' dev index) is what the
margin is chosen on; ``xquad-eval`` only measures.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.types import StoredPassage

MARGINS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, float("inf"))


def rows(name: str, log=print) -> list[dict]:
    """One row per (question, gold passage): which of the first stage's two best sentences hold the answer,
    the best one's lead, and the reader's logits for both."""
    from models.reader import Reader
    from models.reader.recipe import SERVING_DIR
    from retrieval.query import analyse
    from retrieval.stages.evidence import Highlighter
    from text.inputs import sentence_input
    from training.candidates import SETS, contains, open_index, training_encoder, xquad_queries
    from training.data import read_split

    split = read_split()
    articles, _ = SETS[name]()
    encoder, settings = training_encoder()
    index = open_index(name, articles, encoder, settings, log=log)
    parts = sorted(split.train) if name == "dev" else sorted(split.eval)
    queries = [q for lang in ("de", "en") for q in xquad_queries(parts, lang)]
    encoder.encode_queries([q.text for q in queries])
    by_doc: dict[str, list[StoredPassage]] = {}
    for passage in index.store.passages(index.store.passage_ids().tolist()).values():
        by_doc.setdefault(passage.doc_id, []).append(passage)
    highlighter, reader = Highlighter(encoder), Reader(SERVING_DIR)
    out = []
    for q in queries:
        query = analyse(q.text, encoder)
        for passage in by_doc[next(iter(q.gold))]:
            if len(passage.sentences) < 2 or not contains(passage.text, q.answers):
                continue
            if not any(contains(passage.text[s:e], q.answers) for s, e in passage.sentences):
                continue  # the answer crosses a sentence boundary: no sentence can hold it
            evidence, = highlighter.analyse(query, [passage])
            spans = [evidence.span, evidence.runner_up]
            holds = [contains(passage.text[s:e], q.answers) for s, e in spans]
            logits = reader.score(q.text, [sentence_input(passage.title, passage.text[s:e]) for s, e in spans])
            out.append({"lang": q.lang, "holds": holds, "lead": evidence.lead, "logits": logits.tolist()})
    index.close()
    return out


def table(measured: list[dict]) -> dict:
    """Per language and margin: the share of passages whose highlighted sentence holds the answer, and the share read."""
    out = {}
    for lang in sorted({r["lang"] for r in measured}):
        own = [r for r in measured if r["lang"] == lang]
        out[lang] = {"passages": len(own), "margins": []}
        for margin in MARGINS:
            read = [r for r in own if r["lead"] < margin]
            picked = sum(r["holds"][1] if r["lead"] < margin and r["logits"][1] > r["logits"][0] else r["holds"][0]
                         for r in own)
            out[lang]["margins"].append({"margin": "always" if margin == float("inf") else margin,
                                         "answer_picked": round(picked / len(own), 3),
                                         "read": round(len(read) / len(own), 3)})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.highlight", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--set", default="dev", choices=("dev", "xquad-eval"), dest="name")
    opts = p.parse_args(argv)
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    print(json.dumps(table(rows(opts.name, log)), indent=1))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
