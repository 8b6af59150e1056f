"""Indexing throughput and query latency on a corpus you pass in.

    python bench/throughput.py PATH [PATH ...] [--limit N] [--queries 50] [--index-dir DIR]

PATH: files or folders of .txt/.md/.jsonl (as `fundstelle index` reads them), a .jsonl.gz
(e.g. ../shared/data/klexikon/dewiki_2898_articles.jsonl.gz) or a 10kGNAD-style .csv
(`label;'text'`). Indexes into a fresh folder with the real pipeline, then asks --queries
questions made from random passages through the real search path (with highlighting).
Prints one Markdown row for BENCHMARKS.md and writes the raw numbers to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpora import jsonl_gz_articles
from core.documents import Article
from core.settings import Settings
from engine import LocalEngine
from evaluation.datasets import gnad_articles
from indexer.ingest.readers import ReadError, read_articles
from retrieval.query import analyse


def articles(paths: list[Path]) -> Iterator[Article | ReadError]:
    for path in paths:
        if path.suffix == ".csv":
            yield from gnad_articles(path)
        elif path.name.endswith(".jsonl.gz"):
            yield from jsonl_gz_articles(path)
        else:
            yield from read_articles([path])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="index at most N articles")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--index-dir", type=Path, default=None, help="default: a temporary folder, removed after")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    folder = args.index_dir or Path(tempfile.mkdtemp(prefix="fundstelle-bench-")) / "index"
    settings = Settings(index_dir=folder)
    started = time.perf_counter()
    engine = LocalEngine(settings, create=True)
    engine.warm()  # load the model outside the timed indexing run
    load_s = time.perf_counter() - started

    report = engine.index_articles(islice(articles(args.paths), args.limit), progress=True)
    documents, passages = engine.status().documents, engine.status().passages

    rng = random.Random(args.seed)
    ids = engine.index.store.passage_ids()
    sample = engine.index.store.passages([int(i) for i in rng.sample(list(ids), min(args.queries, len(ids)))])
    questions = [" ".join(p.text.split()[:10]) for p in sample.values()]
    engine.ask(questions[0])  # warm-up
    latencies, retrieval = [], []
    for question in questions:
        t0 = time.perf_counter()
        engine.ask(question, 5)
        latencies.append((time.perf_counter() - t0) * 1000)
        query = analyse(question, engine.encoder)
        t0 = time.perf_counter()  # the candidates alone: vector search, BM25, reading the passages
        engine.searcher.retriever.retrieve(query)
        retrieval.append((time.perf_counter() - t0) * 1000)

    result = {
        "corpus": " ".join(str(p) for p in args.paths), "limit": args.limit,
        "articles": documents, "passages": passages, "skipped": len(report.errors),
        "model_load_s": round(load_s, 1), "index_s": round(report.seconds, 1),
        "passages_per_s": round(report.passages / report.seconds, 1) if report.seconds else None,
        "ask_p50_ms": round(statistics.median(latencies), 1), "ask_p95_ms": round(percentile(latencies, 0.95), 1),
        "retrieve_p50_ms": round(statistics.median(retrieval), 1),
        "retrieve_p95_ms": round(percentile(retrieval, 0.95), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "queries": len(questions), "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"throughput-{int(time.time())}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"| {result['corpus']} | {documents} | {passages} | {result['passages_per_s']} | "
          f"{result['ask_p50_ms']} / {result['ask_p95_ms']} | {result['retrieve_p50_ms']} / "
          f"{result['retrieve_p95_ms']} | {result['peak_rss_mb']} |")
    if args.index_dir is None:
        shutil.rmtree(folder.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
