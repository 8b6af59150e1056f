"""/api/ask over HTTP at archive sizes: latency one question at a time, and q/s with concurrent clients.

    .venv/bin/python bench/http_latency.py [--sizes 10000,100000] [--vectors auto|real|standin]
                                           [--questions 200] [--clients 4] [--stages 50]

Per size N, an index of the first N passages of the Klexikon Wikipedia articles, repeated with distinct
ids and permuted digits beyond their ~740k passages (bench/corpora.py ``archive``; the article that
crosses N is cut short at a passage end; the cut corpus is cached next to the indexes), cut by the real pipeline
(``indexer.pipeline.unembedded`` + ``embed_parts``), committed through the real store
(``ArticleIndexer.commit``) and ended by ``Index.save_vectors`` as `fundstelle index` ends, so the
vector index is what the product builds: exact flat below 50,000 passages, IVF SQ8 + exact
re-rank above (store/vectors.py). Built once under ``--index-dir``/http-<N>-<vectors>, then reused.

Passage vectors (``--vectors``), said in the output and the JSON:
- ``real``: the product's encoder (``load_encoder``; ``FUNDSTELLE_ENCODER=auto`` by default, so the server answers
  with the variant the index was built with) for passages and their sentences, as `fundstelle index` embeds
  them; about 50-100 passages/s on 2 cores.
- ``standin``: bench/storage.py's stand-in vectors (random, with topic and article structure) for
  the passages, noisy copies of them for the sentences, recorded under the real model's fingerprint
  so the service opens the index; 100k passages in minutes. Rankings are meaningless, latency is
  representative: texts, BM25 terms and sentences are real, and FAISS's cost (flat or IVF) does not
  depend on the values.
- ``auto`` (default): real up to 20,000 passages, standin above.
Either way the questions are embedded by the real model inside the real service.

Then `fundstelle serve` runs as a subprocess on loopback; after /readyz and --warmup questions:
(a) --questions questions one at a time: p50/p95/p99 ms; (b) --clients clients (threads, one
httpx.Client each) asking 2 x --questions questions in all: q/s, p50/p99; the server's CPU time
per question (user + system, in (a) and (b): it bounds the q/s of an idle machine at
cores x 1000 / CPU ms), its peak RSS (VmHWM) and the load average (the machine is shared: compare ratios within a run). The server
inherits this process's environment (FUNDSTELLE_*, OMP_NUM_THREADS, ...; recorded in the JSON).
(c) --stages questions in-process (``engine.Engine`` on the same index, server stopped): where one
question's time goes (embedding the question, dense search, BM25 on FTS5 and on the lexical index, side
by side on the same questions, ranking with highlights). Disk and build times are in the table; the
lexical index (store/lexical_index.py) is built from SQLite before the server starts, if it is missing.
Indexes of 1M passages and more take long to build: ``--build-only`` once (niced), outside the repository.
Questions: 6-10 consecutive words of random passages, plus a few fixed German questions.

Writes bench/results/http_latency.json and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpora import KLEXIKON, archive, cut_corpus  # noqa: E402
from bench.service import free_port, wait_ready  # noqa: E402
from bench.storage import DIM, SEED, stand_in_vectors, unit  # noqa: E402
from core.settings import Settings  # noqa: E402
from indexer.pipeline import ArticleIndexer, embed_parts, unembedded  # noqa: E402
from models.encoders import load_encoder  # noqa: E402
from retrieval import ranking  # noqa: E402
from retrieval.types import Ranking  # noqa: E402
from store.index import DB_NAME, Index  # noqa: E402
from store.lexical_index import LexicalIndex, wanted_engine  # noqa: E402
from store.store import Store  # noqa: E402
from store.vectors import base_files, read_header_fields  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "http_latency.json"
REAL_UP_TO = 20_000  # --vectors auto: the real model up to here (minutes), stand-ins above
COMMIT_PASSAGES = 2_000  # Wikipedia articles are ~280 passages: cut batches smaller than 64 articles
# About the first articles (ABBA, ADHS, AIDS, Aachen, Aal, Aare), so present at every size.
FIXED = ["Wann wurde ABBA gegründet?", "Was ist ADHS?", "Wie wird AIDS übertragen?",
         "Wo steht der Aachener Dom?", "Wie alt kann ein Aal werden?", "Durch welche Kantone fließt die Aare?"]


# -- the index -------------------------------------------------------------------------------
class StandIn:
    """The real encoder's identity (so the service accepts the index) with stand-in vectors: each batch
    gets ``stand_in_vectors`` of its articles' passage counts (set :attr:`sizes` before embedding it),
    made batch by batch so that 2.5M passages never need their 3.8 GB of vectors at once."""

    def __init__(self, real):
        if real.dim != DIM:
            raise SystemExit(f"stand-in vectors have {DIM} dimensions, the model {real.dim}")
        self.name, self.dim, self.fingerprint = real.name, real.dim, real.fingerprint
        self.sizes: list[int] = []
        self.batches, self.used = 0, 0
        self.rng = np.random.default_rng(SEED + 4)

    def encode_passages_with_sentences(self, texts, spans, progress=False, method="separate", sentence_texts=None):
        if sum(self.sizes) != len(texts):
            raise ValueError("StandIn.sizes must hold the passage counts of the batch's articles")
        rows = stand_in_vectors(np.asarray(self.sizes), seed=SEED + 10 * self.batches)
        self.batches, self.used = self.batches + 1, self.used + len(texts)
        # one sentence: its vector is the passage's, as the real encoder gives it; more: noisy copies (~0.9)
        sentences = [row[None, :] if len(ss) == 1 else
                     unit(row + 0.5 * unit(self.rng.standard_normal((len(ss), DIM), dtype=np.float32)))
                     for row, ss in zip(rows, spans, strict=True)]
        return rows, sentences


def corpus(settings: Settings, cache_dir: Path) -> list[tuple]:
    """Klexikon cut by the real pipeline, all of it (cached under ``cache_dir``: minutes to cut)."""
    name = f"klexikon-cut-{settings.passage_target_chars}-{settings.passage_max_chars}.pkl"
    return cut_corpus(KLEXIKON, lambda article: unembedded(article, settings), cache_dir / name)


def build(folder: Path, n: int, vectors: str, settings: Settings) -> dict:
    """Write the first ``n`` passages of the archive (:func:`bench.corpora.archive`) into ``folder``."""
    started = time.perf_counter()
    base = corpus(settings, folder.parent)
    cut_s = time.perf_counter() - started
    real = load_encoder(settings)
    encoder = real if vectors == "real" else StandIn(real)
    work = folder.with_name(folder.name + ".partial")  # renamed when complete: only whole builds are reused
    shutil.rmtree(work, ignore_errors=True)
    index = Index.open(work, encoder, create=True)
    writer = ArticleIndexer(index, settings)
    t0, batch, done, shown = time.perf_counter(), [], 0, 0.0

    def flush():
        nonlocal batch, done, shown
        if isinstance(encoder, StandIn):
            encoder.sizes = [len(p[0]) for _, p in batch]
        writer.commit(embed_parts(encoder, [a for a, _ in batch], [p for _, p in batch]))
        done += sum(len(p[0]) for _, p in batch)
        batch = []
        if time.perf_counter() - shown > 30 or done >= n:
            shown = time.perf_counter()
            print(f"[{n}] {done:,} passages written ({vectors} vectors), {shown - t0:.0f}s, "
                  f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)

    for item in archive(n, base):
        batch.append(item)
        if sum(len(p[0]) for _, p in batch) >= COMMIT_PASSAGES or len(batch) == writer.batch_articles:
            flush()
    if batch:
        flush()
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert index.save_vectors(timeout=60), "the vector base was not saved"
    save_s = time.perf_counter() - t0
    if isinstance(encoder, StandIn):
        assert encoder.used == n, "stand-in rows and passages out of step"
    documents, passages = index.counts()
    index.close()
    work.rename(folder)
    info = {"vectors": vectors, "articles": documents, "passages": passages, "cut_s": round(cut_s, 1),
            "embed_and_write_s": round(write_s, 1), "save_vectors_s": round(save_s, 1),
            "build_s": round(time.perf_counter() - started, 1), "load_avg_after": os.getloadavg(),
            "copies": "klexikon repeated; copy k: ids <id>~k, digits permuted (bench/corpora.py)"}
    (folder.parent / f"{folder.name}.json").write_text(json.dumps(info, indent=2))
    return info


def index_for(root: Path, n: int, vectors: str) -> tuple[Path, dict]:
    folder = root / f"http-{n}-{vectors}"
    record = folder.parent / f"{folder.name}.json"
    if folder.is_dir() and record.is_file():
        return folder, {**json.loads(record.read_text()), "reused": True}
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder, {**build(folder, n, vectors, Settings(index_dir=folder)), "reused": False}


def questions_from(folder: Path, count: int, seed: int = 7) -> list[str]:
    """The fixed questions, then 6-10 consecutive words of random passages (all different)."""
    store = Store(folder / DB_NAME)
    rng = random.Random(seed)
    ids = [int(i) for i in store.passage_ids()]
    out = list(FIXED)
    for passage in store.passages(rng.sample(ids, min(len(ids), 2 * count))).values():
        words = passage.text.split()
        size = rng.randint(6, 10)
        start = rng.randrange(max(1, len(words) - size + 1))
        out.append(" ".join(words[start : start + size]))
    store.close()
    out = list(dict.fromkeys(out))
    rng.shuffle(out)
    return out[:count]


# -- the service -----------------------------------------------------------------------------
def memory_mb(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    values = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith(("VmRSS", "VmHWM"))}
    return {"rss_mb": round(values["VmRSS"] / 1024), "peak_rss_mb": round(values["VmHWM"] / 1024)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (less at the mercy of the neighbours than wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(folder: Path, log: Path, settings: dict[str, str] | None = None) -> tuple[subprocess.Popen, str, float]:
    """``fundstelle serve`` over ``folder`` on a free loopback port, with ``settings`` as FUNDSTELLE_* variables."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "FUNDSTELLE_READ_TOKEN"}  # read routes open
    env |= settings or {}
    started = time.perf_counter()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "fundstelle"), "serve", "--index-dir", str(folder),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, every=0.25)
    except RuntimeError as exc:
        raise SystemExit(f"{exc}; see {log}") from None
    return proc, url, time.perf_counter() - started


def ask(client: httpx.Client, question: str, **fields) -> float:
    """Milliseconds of one POST /api/ask (top_k 5, with ``fields`` such as a history)."""
    started = time.perf_counter()
    client.post("/api/ask", json={"question": question, "top_k": 5, **fields}).raise_for_status()
    return (time.perf_counter() - started) * 1000


def summary(ms: list[float]) -> dict[str, float]:
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "p99_ms": round(p99, 1),
            "mean_ms": round(float(np.mean(ms)), 1), "max_ms": round(max(ms), 1)}


def concurrent(url: str, questions: list[str], clients: int) -> dict:
    """Each client (own thread, own connection) asks its share; q/s = all answers / wall time."""
    ready = threading.Barrier(clients + 1, timeout=60)

    def client_run(i: int) -> list[float]:
        with httpx.Client(base_url=url, timeout=120) as client:
            client.get("/healthz")  # the connection is open before the clock starts
            ready.wait()
            return [ask(client, q) for q in questions[i::clients]]

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(client_run, i) for i in range(clients)]
        ready.wait()
        started = time.perf_counter()
        latencies = [ms for f in futures for ms in f.result()]
        wall = time.perf_counter() - started
    return {"clients": clients, "questions": len(latencies), "seconds": round(wall, 2),
            "q_per_s": round(len(latencies) / wall, 1), **summary(latencies)}


# -- where the time goes (in-process) ----------------------------------------------------------
def stages(folder: Path, questions: list[str]) -> dict[str, float]:
    """p50 ms of each stage of one question, as ``Searcher.search`` runs them."""
    from engine import LocalEngine
    from retrieval.query import analyse

    engine = LocalEngine(Settings(index_dir=folder))
    engine.warm()
    searcher, index = engine.searcher, engine.index
    for q in questions[:3]:
        engine.ask(q)
    timings: dict[str, list[float]] = {}

    def timed(name: str, call, *args):
        started = time.perf_counter()
        out = call(*args)
        timings.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        return out

    agreement, exact_agreement = [], []
    for q in questions:
        timed("embed question", engine.encoder.encode_queries, [q])
        query = timed("analyse (embed + terms)", analyse, q, engine.encoder)
        timed("dense search k=50", index.vectors.search, query.vector[None, :], 50)
        if query.fts_match():  # both engines on the same index and question, one after the other
            fts5 = timed("BM25 FTS5 k=50", index.store.lexical, query.fts_match(), 50)
            if index.lexical is not None:
                engine_hits = timed("BM25 tantivy k=50", index.lexical.search, query.lexical_terms, 50)
                exact = timed("BM25 tantivy 200 + exact scores k=50", _lexical_exact, index, query.lexical_terms)
                if fts5:
                    agreement.append(len({p for p, _ in fts5} & {p for p, _ in engine_hits}) / len(fts5))
                    exact_agreement.append(len({p for p, _ in fts5} & {p for p, _ in exact}) / len(fts5))
        found = timed("retrieve (dense + BM25 + read)", searcher.retriever.retrieve, query)
        timed("rank (fusion, highlights, variety, windows)", ranking.run, searcher.stages, Ranking(query, found, 5))
        timed("Engine.ask total", engine.ask, q, 5)
    engine.close()
    out = {name: round(float(np.median(ms)), 2) for name, ms in timings.items()}
    for name in ("BM25 FTS5 k=50", "BM25 tantivy k=50", "BM25 tantivy 200 + exact scores k=50"):
        if name in timings:
            out[name.replace("k=50", "k=50 p90")] = round(float(np.percentile(timings[name], 90)), 2)
    if agreement:  # the two BM25s differ (idf formula, length buckets): how many of FTS5's 50 tantivy also has
        out["BM25 top-50 shared by FTS5 and tantivy"] = round(float(np.mean(agreement)), 3)
        out["BM25 top-50 shared by FTS5 and tantivy + exact scores"] = round(float(np.mean(exact_agreement)), 3)
    return out


def _lexical_exact(index, terms) -> list[tuple[int, float]]:
    """What the retriever does: the lexical index's 4 x 50 best, scored again with FTS5's exact bm25()."""
    stats = index.lexical.stats(index.store, terms)
    over = index.lexical.search(terms, 200, None, stats)
    return index.store.rescored([pid for pid, _ in over], terms, stats, 50)


def lexical_ready(folder: Path) -> dict:
    """Build (or catch up) the index's lexical index before the server starts, so that start-up is timed
    as it is once it exists (an index built before it gets it once, on its first open)."""
    if wanted_engine() != "tantivy":
        return {"engine": "fts5"}
    store = Store(folder / DB_NAME)
    lexical = LexicalIndex(folder)
    started = time.perf_counter()
    wrote = lexical.catch_up(store)
    seconds = time.perf_counter() - started
    lexical.close()
    store.close()
    return {"engine": "tantivy", "built_now": wrote, "seconds": round(seconds, 1)}


def disk_mb(folder: Path) -> dict[str, float]:
    """MB on disk: the SQLite file (with its WAL), the vector base files, the lexical index."""
    def size(paths) -> float:
        return round(sum(p.stat().st_size for p in paths if p.is_file()) / 1e6, 1)

    return {"sqlite": size(folder.glob(DB_NAME + "*")), "vectors": size(folder.glob("vectors.g*.faiss")),
            "lexical": size((folder / "lexical").rglob("*")), "total": size(folder.rglob("*"))}


# -- one size ----------------------------------------------------------------------------------
def run(n: int, vectors: str, args) -> dict:
    folder, built = index_for(args.index_dir, n, vectors)
    kind = read_header_fields(base_files(folder)[0][1])["kind"]
    questions = questions_from(folder, args.warmup + 3 * args.questions)
    warmup, sequential_qs = questions[: args.warmup], questions[args.warmup : args.warmup + args.questions]
    concurrent_qs = questions[args.warmup + args.questions :]
    result = {"target_passages": n, "passages": built["passages"], "articles": built["articles"],
              "vectors": vectors, "vector_index": kind, "build": built,
              "load_avg": {"start": os.getloadavg()}, "lexical_index": lexical_ready(folder)}
    result["disk_mb"] = disk_mb(folder)
    log = folder.parent / f"{folder.name}.serve.log"
    proc, url, ready_s = start_server(folder, log)
    try:
        result["server_ready_s"] = round(ready_s, 1)
        result["server_after_start"] = memory_mb(proc.pid)
        with httpx.Client(base_url=url, timeout=120) as client:
            for q in warmup:
                ask(client, q)
            cpu = cpu_seconds(proc.pid)
            result["sequential"] = {"questions": len(sequential_qs),
                                    **summary([ask(client, q) for q in sequential_qs])}
        result["sequential"]["server_cpu_ms_per_q"] = round((cpu_seconds(proc.pid) - cpu) * 1000 / len(sequential_qs), 1)
        result["load_avg"]["after_sequential"] = os.getloadavg()
        cpu = cpu_seconds(proc.pid)
        result["concurrent"] = concurrent(url, concurrent_qs, args.clients)
        result["concurrent"]["server_cpu_ms_per_q"] = round((cpu_seconds(proc.pid) - cpu) * 1000
                                                            / result["concurrent"]["questions"], 1)
        result["load_avg"]["after_concurrent"] = os.getloadavg()
        result["server_end"] = memory_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    if args.stages:
        result["stages_p50_ms"] = stages(folder, sequential_qs[: args.stages])
        result["load_avg"]["after_stages"] = os.getloadavg()
    print(f"[{n}] {json.dumps({k: v for k, v in result.items() if k != 'build'})}", file=sys.stderr, flush=True)
    return result


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": model, "platform": platform.platform(),
            "python": platform.python_version()}


def disk(r: dict) -> str:
    d = r.get("disk_mb", {})
    return f"{d.get('sqlite', '-'):,} / {d.get('vectors', '-'):,} / {d.get('lexical', '-'):,}" if d else "-"


def build_times(r: dict) -> str:
    b, lexical = r["build"], r.get("lexical_index", {})
    lexical_s = lexical.get("seconds", "-") if lexical.get("built_now") else "(exists)"
    return f"{b.get('embed_and_write_s', '-')} / {b.get('save_vectors_s', '-')} / {lexical_s}"


def tables(results: list[dict], clients: int) -> str:
    lines = [f"| passages | vectors | vector index | one at a time p50 / p95 / p99 ms | {clients} clients q/s | "
             f"{clients} clients p50 / p99 ms | server CPU ms / question | server ready s | server peak RSS MB | "
             "disk MB (SQLite / vectors / lexical) | build s (write / vectors / lexical) | load avg 1 min |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        s, c = r["sequential"], r["concurrent"]
        loads = [r["load_avg"][k][0] for k in ("start", "after_sequential", "after_concurrent")]
        lines.append(f"| {r['passages']:,} | {r['vectors']} | {r['vector_index']} | {s['p50_ms']} / {s['p95_ms']} / "
                     f"{s['p99_ms']} | {c['q_per_s']} | {c['p50_ms']} / {c['p99_ms']} | {s['server_cpu_ms_per_q']} / "
                     f"{c['server_cpu_ms_per_q']} | {r['server_ready_s']} | "
                     f"{r['server_end']['peak_rss_mb']:,} | {disk(r)} | {build_times(r)} | "
                     f"{min(loads):.1f}–{max(loads):.1f} |")
    staged = [r for r in results if r.get("stages_p50_ms")]
    if staged:
        names = list(staged[0]["stages_p50_ms"])
        lines += ["", "In-process stages, p50 ms:", "", "| passages | " + " | ".join(names) + " |",
                  "|---" * (len(names) + 1) + "|"]
        lines += [f"| {r['passages']:,} | " + " | ".join(str(r["stages_p50_ms"].get(k, "-")) for k in names) + " |"
                  for r in staged]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="passages, comma-separated")
    parser.add_argument("--vectors", choices=["auto", "real", "standin"], default="auto",
                        help=f"auto: real up to {REAL_UP_TO:,} passages, standin above")
    parser.add_argument("--questions", type=int, default=200, help="one at a time; twice as many concurrently")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--stages", type=int, default=50, help="questions for the in-process split (0: none)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--index-dir", type=Path, default=ROOT / "artifacts" / "bench",
                        help="where the indexes are built and kept (one folder per size and vectors)")
    parser.add_argument("--build-only", action="store_true",
                        help="build (or find) the indexes of --sizes and stop: the long part, run once with nice")
    args = parser.parse_args()
    if args.build_only:
        for n in (int(s) for s in args.sizes.split(",") if s.strip()):
            vectors = args.vectors if args.vectors != "auto" else ("real" if n <= REAL_UP_TO else "standin")
            print(json.dumps(index_for(args.index_dir, n, vectors)[1]), flush=True)
        return 0
    results = []
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        vectors = args.vectors if args.vectors != "auto" else ("real" if n <= REAL_UP_TO else "standin")
        results.append(run(n, vectors, args))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({  # after every size: a long run keeps what it measured
            "command": "python bench/http_latency.py " + " ".join(sys.argv[1:]), "machine": machine(),
            "env": {k: v for k, v in os.environ.items() if k.startswith(("FUNDSTELLE_", "OMP_"))
                    and "TOKEN" not in k},
            "note": "standin: stand-in passage/sentence vectors (rankings meaningless, latency representative); "
                    "questions are always embedded by the real model in the real service",
            "results": results}, indent=2))
    print(tables(results, args.clients))
    return 0


if __name__ == "__main__":
    sys.exit(main())
