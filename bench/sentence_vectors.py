"""What stored sentence vectors save a question: the highlight over the pool candidates with the vectors
stored at index time, and with them embedded at question time (what an index without them does).

    .venv/bin/python bench/sentence_vectors.py INDEX_DIR   # e.g. var/eval/<key> of `fundstelle eval --set bundled`

The pool is the 20 nearest passages of each of the first 40 bundled-set questions
(data/questions/bundled.jsonl); each question gets a fresh highlighter (no LRU hits). Prints p50 / p90 ms.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import Settings  # noqa: E402
from models.encoders import load_encoder  # noqa: E402
from retrieval.query import analyse  # noqa: E402
from retrieval.stages.evidence import EVIDENCE_POOL, Highlighter  # noqa: E402
from store.index import Index  # noqa: E402


def main() -> int:
    encoder = load_encoder(Settings())
    index = Index.open(Path(sys.argv[1]), encoder)
    lines = (ROOT / "data" / "questions" / "bundled.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()][:40]
    stored, asked_now = [], []
    for question in questions:
        query = analyse(question, encoder)
        _, found = index.vectors.search(query.vector[None, :], EVIDENCE_POOL)
        pool = list(index.store.passages([int(i) for i in found[0] if i >= 0]).values())
        started = time.perf_counter()
        Highlighter(encoder).analyse(query, pool)
        stored.append((time.perf_counter() - started) * 1000)
        bare = [dataclasses.replace(p, packed_sentence_vectors=None) for p in pool]
        started = time.perf_counter()
        Highlighter(encoder).analyse(query, bare)
        asked_now.append((time.perf_counter() - started) * 1000)
    for name, ms in (("stored sentence vectors", stored), ("embedded at question time", asked_now)):
        ms.sort()
        print(f"{name}: p50 {statistics.median(ms):.1f} ms, p90 {ms[int(0.9 * len(ms))]:.1f} ms")
    print(f"{len(questions)} questions, pool {EVIDENCE_POOL}, load average {os.getloadavg()}")
    index.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
