"""The retrieval-quality benchmark of BENCHMARKS.md in one command.

XQuAD paragraphs among all 1,028 10kGNAD test articles, German questions and English
questions against the German paragraphs, every mode (lexical, dense, fused, hybrid); then the
hand-written question set over the bundled articles (data/questions).
Results go to stdout and to bench/results/quality-<de|en|bundled>.json.

    .venv/bin/python bench/quality.py [--limit N] [extra `fundstelle eval` options]

The first run indexes about 7,000 passages (several minutes on 2 cores); later runs
reuse the cached index and embeddings under var/eval.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluation.command import main, table  # noqa: E402
from evaluation.datasets import DEFAULT_CONTEXTS, DEFAULT_DISTRACTORS  # noqa: E402

SETTINGS = {
    "de": [],
    "en": ["--questions", str(DEFAULT_CONTEXTS.parent / "xquad.en.json")],
}


def run(extra: list[str]) -> int:
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    for language, options in SETTINGS.items():
        args = ["--distractors", str(DEFAULT_DISTRACTORS), "--mode", "all", "--json", "--quiet", *options, *extra]
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main(args)
        if code:
            return code
        summary = json.loads(buffer.getvalue())
        (out / f"quality-{language}.json").write_text(json.dumps(summary, indent=2))
        print(f"\n{language}: {summary['asked']} questions, {summary['indexed_articles']} articles, "
              f"{summary['passages']} passages")
        print(table(summary["results"]))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["--set", "bundled", "--json", "--quiet"])
    if code:
        return code
    summary = json.loads(buffer.getvalue())
    (out / "quality-bundled.json").write_text(json.dumps(summary, indent=2))
    print("\nbundled question set:")
    for lang, m in summary["results"].items():
        print(f"{lang}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in m.items()))
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
