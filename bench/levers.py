"""Which lever earns its place: the hand-written question set with each one switched off in turn.

Levers (each switched off alone; everything else as shipped):
- ``compounds``: German compound parts in the BM25 terms (text.terms.compound_parts); the index
  is rebuilt without them.
- the ranking stages, skipped by name (retrieval.ranking, as `fundstelle eval --skip` does):
  ``windows`` (context windows across passage boundaries), ``follow-ups`` (elliptic questions
  searched with the one before), ``coherence`` (the highlight taking in the next sentence when it
  continues the best one), ``evidence`` (best-sentence re-scoring), ``variety`` (at most two passages
  of an article first).

    .venv/bin/python bench/levers.py

Writes bench/results/levers.json and prints a Markdown table. Embeddings come from the eval cache
(var/eval/embeddings.sqlite3), so a run takes a few minutes.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import Settings  # noqa: E402
from evaluation.cache import CachingEncoder  # noqa: E402
from evaluation.harness import evaluate_set, set_metrics  # noqa: E402
from evaluation.indexes import EVAL_ROOT, open_index  # noqa: E402
from evaluation.questionset import read_question_set  # noqa: E402
from indexer.ingest.readers import ReadError, read_articles  # noqa: E402
from models.encoders import load_encoder  # noqa: E402
from retrieval.searcher import Searcher  # noqa: E402
from text import terms as lexical  # noqa: E402

# What each lever is off: a ranking stage skipped by name (retrieval.ranking), or, for the compounds in
# the BM25 terms, an index rebuilt without them.
STAGES_OFF = {"windows": "windows", "follow-ups": "followups", "coherence": "coherence", "evidence": "evidence",
              "variety": "variety"}
OFF = ["compounds", *STAGES_OFF]


def run(lever: str | None, articles, questions, encoder, settings) -> dict:
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        rebuild = lever == "compounds"
        if rebuild:
            stack.enter_context(mock.patch.object(lexical, "compound_parts", lambda word: ()))
        folder = Path(tmp) / "index" if rebuild else None  # a fresh folder: the cached index has the lever on
        index, _ = open_index(articles, encoder, settings, folder, progress=False, log=lambda *a: None)
        try:
            skip = {STAGES_OFF[lever]} if lever in STAGES_OFF else set()
            outcomes = evaluate_set(Searcher.over(index, encoder, skip=skip), questions)
        finally:
            index.store.close()
    return {lang: set_metrics(outcomes, lang) for lang in ("de", "en")}


def main() -> int:
    settings = Settings()
    encoder = CachingEncoder(load_encoder(settings), EVAL_ROOT / "embeddings.sqlite3")
    articles = [a for a in read_articles([ROOT / "data" / "corpus"]) if not isinstance(a, ReadError)]
    questions = read_question_set(ROOT / "data" / "questions")
    results = {name or "shipped": run(name, articles, questions, encoder, settings) for name in (None, *OFF)}
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "levers.json").write_text(json.dumps(results, indent=2))
    print("| switched off | de hit@1 | de hit@5 | de MRR@10 | en hit@5 | en MRR@10 | highlight de / en |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        de, en = r["de"], r["en"]
        print(f"| {name} | {de['hit@1']:.3f} | {de['hit@5']:.3f} | {de['mrr@10']:.3f} | {en['hit@5']:.3f} | "
              f"{en['mrr@10']:.3f} | {de['highlight']:.3f} / {en['highlight']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
