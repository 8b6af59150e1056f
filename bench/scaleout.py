"""What Ray costs on one machine: indexing passages/s and /api/ask questions/s, sharded vs single node.

In one run, on the same articles (the bundled corpus plus XQuAD paragraphs) and questions:

- **index**: the single-node pipeline (`ArticleIndexer`, in-process) vs `index_sharded` through Ray Data
  into 1 and 2 shards on a local loopback cluster (cluster start-up not counted; the embedding
  actor's model load is: it is part of every run).
- **ask**: sequential questions over HTTP on loopback: `fundstelle serve` (uvicorn) vs Ray Serve with
  1 and 2 shards; and the same with 4 concurrent clients.

The ratios (Ray / single) are the overhead of the distributed path on one machine; the per-shard
figures feed the projection in docs/scale-out.md. Writes bench/results/scaleout.json.

    .venv/bin/python bench/scaleout.py [--xquad-articles 12] [--questions 40]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # loopback only (scaleout.cluster.loopback_only)

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.service import free_port, wait_ready  # noqa: E402
from core.documents import Article  # noqa: E402
from core.settings import Settings  # noqa: E402
from evaluation.datasets import load_dataset  # noqa: E402
from indexer.ingest.readers import read_articles  # noqa: E402
from indexer.pipeline import ArticleIndexer  # noqa: E402
from models.encoders import load_encoder  # noqa: E402
from service.settings import ServiceSettings  # noqa: E402
from store.index import Index  # noqa: E402

XQUAD = ROOT.parent / "shared" / "data" / "xquad" / "xquad.de.json"
RESULTS = ROOT / "bench" / "results" / "scaleout.json"


def ask_rate(url: str, questions: list[str], clients: int = 1) -> float:
    """Questions per second over HTTP (after one warm-up question)."""
    with httpx.Client(base_url=url, timeout=120) as client:
        client.post("/api/ask", json={"question": questions[0], "top_k": 5}).raise_for_status()

        def one(question: str) -> None:
            client.post("/api/ask", json={"question": question, "top_k": 5}).raise_for_status()

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, questions))
        return len(questions) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xquad-articles", type=int, default=12)
    parser.add_argument("--questions", type=int, default=40)
    args = parser.parse_args(argv)

    articles = [a for a in read_articles([ROOT / "data" / "corpus"]) if isinstance(a, Article)]
    questions = ["Wie viele nordkoreanische Soldaten sind in Russland?", "How many North Korean soldiers are in Russia?"]
    if XQUAD.is_file():
        data = load_dataset(XQUAD, None, None, max_articles=args.xquad_articles)
        articles += data.articles
        questions += [q.text for q in data.questions]
    questions = questions[: args.questions]
    settings = ServiceSettings()
    work = Path(tempfile.mkdtemp(prefix="fundstelle-bench-scaleout-"))
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "load_average_at_start": os.getloadavg()[0]},
                     "articles": len(articles), "questions": len(questions), "index": {}, "ask": {}}
    try:
        # -- single node -------------------------------------------------------------------
        encoder = load_encoder(settings)
        encoder.encode_queries(["warm-up"])
        single_dir = work / "single"
        started = time.perf_counter()
        index = Index.open(single_dir, encoder, create=True)
        report = ArticleIndexer(index, Settings(index_dir=single_dir)).run(articles)
        seconds = time.perf_counter() - started
        index.close()
        passages = report.passages
        results["passages"] = passages
        results["index"]["single"] = {"seconds": round(seconds, 1), "passages_per_s": round(passages / seconds, 1)}
        print("index single", results["index"]["single"], flush=True)

        port = free_port()
        env = {**os.environ, "FUNDSTELLE_READ_TOKEN": ""}
        server = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--index-dir", str(single_dir), "--port",
                                   str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(f"http://127.0.0.1:{port}")
            results["ask"]["single"] = {"q_per_s_1_client": round(ask_rate(f"http://127.0.0.1:{port}", questions), 2),
                                        "q_per_s_4_clients": round(
                                            ask_rate(f"http://127.0.0.1:{port}", questions, 4), 2)}
        finally:
            server.terminate()
            server.wait(60)
        print("ask single", results["ask"]["single"], flush=True)

        # -- Ray: 1 and 2 shards on a local loopback cluster --------------------------------
        jsonl = work / "articles.jsonl"
        with jsonl.open("w", encoding="utf-8") as fh:
            for a in articles:
                fh.write(json.dumps({"id": a.doc_id, "title": a.title, "text": a.text, "source": a.source,
                                     "published": a.published, "url": a.url}, ensure_ascii=False) + "\n")
        from ray import serve

        from scaleout.cluster import connect
        from scaleout.ingest import index_sharded
        from scaleout.serve import APP_NAME, deploy

        with connect("local"):
            for shards in (1, 2):
                root = work / f"ray-{shards}"
                started = time.perf_counter()
                report = index_sharded(root, [jsonl], shards, settings)
                seconds = time.perf_counter() - started
                results["index"][f"ray_{shards}_shards"] = {
                    "seconds": round(seconds, 1), "passages_per_s": round(report.passages / seconds, 1),
                    "passages_per_shard": [p for _, p in report.shards]}
                print(f"index ray {shards}", results["index"][f"ray_{shards}_shards"], flush=True)
                port = free_port()
                deploy(root, settings, "127.0.0.1", port)
                url = f"http://127.0.0.1:{port}"
                wait_ready(url)
                results["ask"][f"ray_{shards}_shards"] = {"q_per_s_1_client": round(ask_rate(url, questions), 2),
                                                          "q_per_s_4_clients": round(ask_rate(url, questions, 4), 2)}
                print(f"ask ray {shards}", results["ask"][f"ray_{shards}_shards"], flush=True)
                serve.delete(APP_NAME)
                serve.shutdown()
        single_index, single_ask = results["index"]["single"], results["ask"]["single"]
        results["ratios_vs_single"] = {
            key: {"index": round(results["index"][key]["passages_per_s"] / single_index["passages_per_s"], 3),
                  "ask_1_client": round(results["ask"][key]["q_per_s_1_client"] / single_ask["q_per_s_1_client"], 3),
                  "ask_4_clients": round(results["ask"][key]["q_per_s_4_clients"] / single_ask["q_per_s_4_clients"],
                                         3)}
            for key in ("ray_1_shards", "ray_2_shards")
        }
        results["command"] = "python bench/scaleout.py " + " ".join(argv or sys.argv[1:])
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results["ratios_vs_single"], indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
