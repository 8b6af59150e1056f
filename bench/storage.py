"""Storage benchmark: the index folder at archive scale, with a stand-in encoder.

    python bench/storage.py                 # 1,000,000 passages, then 100,000 to compare
    python bench/storage.py --n 200000 --compare-n 0 --queries 300 --keep /tmp/storage-200k

The model is measured separately (bench/encoders.py); here every passage gets a fast stand-in
vector, so only the store and the vectors are timed. The stand-in vectors are random unit
vectors with a fixed seed, shaped like text embeddings: a direction all of them share (e5's
cosines between unrelated passages are ~0.75), a topic, the article and a per-passage part
(cosines ~0.75 unrelated, ~0.82 same topic, ~0.9 same article). Uniform random vectors would
have no neighbours at all (every cosine ~0), which is no model of text and the worst case of any
ANN index. Questions are noisy copies of random passages (cosine ~0.93 to their passage).

Steps, per size N:
1. write N passages as articles of 2-6 passages with short fake texts through the real
   ``Store.upsert`` / ``Prepared`` path, ``--batch`` articles per transaction (the CLI's
   FUNDSTELLE_INDEX_BATCH_ARTICLES; no bulk path was needed), then ``Index.save_vectors``
   builds and writes the vector base as ``fundstelle index`` does at its end;
2. in a fresh process: ``Index.open`` (cold start), RSS after start, vector search latency
   (k=50 as the retriever asks, re-ranking included) and the stored passages read for the hits,
   ANN recall@10 against exact inner-product search over the fp32 vectors, an nprobe sweep,
   one article written through the real write path (``ArticleIndexer.write``: clean, chunk,
   stand-in embed, commit, refresh) until it is searchable, one save after it, and a forced
   compaction (full base rewrite);
3. exact search (FAISS flat, fp32, one query at a time) on the same vectors, for comparison.

Results go to bench/results/storage.json; a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DIM = 384
SEED = 20241015
RESULTS = Path(__file__).resolve().parent / "results" / "storage.json"


# -- the stand-in corpus --------------------------------------------------------------------
def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def corpus_shape(n: int, seed: int = SEED) -> np.ndarray:
    """Passages per article (2-6) until they add up to exactly n."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 7, size=n // 2 + 1)
    ends = np.cumsum(sizes)
    k = int(np.searchsorted(ends, n))
    sizes = sizes[: k + 1].copy()
    sizes[-1] -= int(ends[k] - n)
    return sizes[sizes > 0]


def stand_in_vectors(sizes: np.ndarray, seed: int = SEED) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    n, articles = int(sizes.sum()), len(sizes)
    topics = unit(rng.standard_normal((max(50, n // 2000), DIM), dtype=np.float32))
    shared = unit(rng.standard_normal((1, DIM), dtype=np.float32))[0]
    article_of = np.repeat(np.arange(articles), sizes)
    first_row = np.concatenate([[0], np.cumsum(sizes)])  # articles' passages are contiguous rows
    topic_of_article = rng.integers(len(topics), size=articles)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, articles, 50_000):
        stop = min(articles, start + 50_000)
        centre = (np.sqrt(0.08) * topics[topic_of_article[start:stop]]
                  + np.sqrt(0.07) * unit(rng.standard_normal((stop - start, DIM), dtype=np.float32)))
        lo, hi = first_row[start], first_row[stop]
        noise = unit(rng.standard_normal((hi - lo, DIM), dtype=np.float32))
        out[lo:hi] = unit(np.sqrt(0.75) * shared + centre[article_of[lo:hi] - start] + np.sqrt(0.10) * noise)
    return out


def stand_in_queries(x: np.ndarray, count: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 2)
    rows = rng.choice(len(x), size=count, replace=False)
    return rows, unit(x[rows] + 0.4 * unit(rng.standard_normal((count, DIM), dtype=np.float32)))


WORDS = [f"wort{i}" for i in range(20_000)]


class StandInEncoder:
    """What the index needs of an encoder, with random unit vectors instead of a model."""

    dim = DIM
    name = "stand-in-random-unit"
    fingerprint = "stand-in-0001"

    def _encode(self, texts: list[str]) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256("\n".join(texts).encode()).digest()[:8], "little")
        return unit(np.random.default_rng(seed).standard_normal((len(texts), DIM), dtype=np.float32))

    def encode_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return self._encode(texts)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages_with_sentences(self, texts: list[str], spans: list[list[tuple[int, int]]],
                                       progress: bool = False, method: str = "late",
                                       sentence_texts: list[list[str]] | None = None
                                       ) -> tuple[np.ndarray, list[np.ndarray]]:
        """As models.encoders.SentenceEncoder: passage vectors and one vector per sentence span."""
        passages = self._encode(texts)
        sentences = [self._encode([f"{n}:{text}" for n in range(len(ss))]) if ss else
                     np.zeros((0, DIM), np.float32) for text, ss in zip(texts, spans, strict=True)]
        return passages, sentences


def write_corpus(folder: Path, sizes: np.ndarray, x: np.ndarray, batch: int) -> dict:
    """All passages through Store.upsert (one transaction per batch of articles)."""
    from core.documents import Article, Passage
    from store.index import Index
    from store.store import Prepared

    index = Index.open(folder, StandInEncoder(), create=True)
    rng = np.random.default_rng(SEED + 3)
    meta = index.model_meta()
    started, row, pending = time.perf_counter(), 0, []
    for a, size in enumerate(sizes.tolist()):
        words = rng.integers(len(WORDS), size=(size, 12))
        sentences = [" ".join(WORDS[w] for w in ws).capitalize() + "." for ws in words]
        text, offsets = "", []
        for s in sentences:
            offsets.append((len(text), len(text) + len(s)))
            text += s + " "
        doc_id = f"doc-{a:07d}"
        passages = [Passage(doc_id, n, n + 1, start, end, text[start:end], sentences=[(0, end - start)])
                    for n, (start, end) in enumerate(offsets)]
        terms = [[WORDS[w] for w in ws] for ws in words]
        pending.append(Prepared(Article(doc_id=doc_id, title=f"Artikel {a}", text=text.strip()), passages,
                                x[row : row + size], terms))
        row += size
        if len(pending) == batch or a == len(sizes) - 1:
            with index.write_lock():
                index.store.upsert(pending, meta=meta)
            pending = []
    write_s = time.perf_counter() - started
    started = time.perf_counter()
    assert index.save_vectors(timeout=60)
    build_s = time.perf_counter() - started
    kind = index.vectors.kind
    index.close()
    return {"write_s": round(write_s, 1), "build_s": round(build_s, 1), "kind": kind}


def files(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}


def rss_mb() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    values = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith("Vm")}
    return values["VmRSS"] / 1024, values["VmHWM"] / 1024


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


# -- the serving process (fresh) ------------------------------------------------------------
def probe(folder: Path, work: Path) -> dict:
    """Runs in a fresh process: start, memory, latency, recall, a live write, saves."""
    started = time.perf_counter()
    from store.index import Index  # the index alone: the write path's imports are measured below

    imported = time.perf_counter()
    index = Index.open(folder, StandInEncoder())
    opened = time.perf_counter()
    rss_after_start, peak_at_start = rss_mb()
    from core.settings import Settings
    from indexer.ingest.schema import ArticleIn
    from indexer.pipeline import ArticleIndexer

    out_imports = {"write_path_import_s": round(time.perf_counter() - opened, 2),
                   "rss_with_write_path_mb": round(rss_mb()[0])}
    queries = np.load(work / "queries.npy")
    truth = np.load(work / "truth.npy")
    out: dict = {"start_s": round(opened - imported, 2), "process_start_s": round(opened - started, 2),
                 "rss_after_start_mb": round(rss_after_start), "peak_rss_at_start_mb": round(peak_at_start),
                 "kind": index.vectors.kind, "ntotal": index.vectors.ntotal, **out_imports}
    vectors = index.vectors

    def timed_search(k: int) -> tuple[list[float], list[float], np.ndarray]:
        search_ms, with_passages_ms, found = [], [], []
        for q in queries:
            t0 = time.perf_counter()
            with index.store.snapshot():
                _, ids = vectors.search(q[None, :], k)
                t1 = time.perf_counter()
                index.store.passages([int(i) for i in ids[0] if i >= 0])
            t2 = time.perf_counter()
            search_ms.append((t1 - t0) * 1000)
            with_passages_ms.append((t2 - t0) * 1000)
            found.append(ids[0][:10])
        return search_ms, with_passages_ms, np.array(found)

    def recall(found: np.ndarray) -> float:
        return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / 10 for f, t in zip(found, truth,
                                                                                              strict=True)]))

    timed_search(50)  # warm-up: first touches of the codes and the SQLite pages
    search_ms, with_passages_ms, _ = timed_search(50)
    _, _, found = timed_search(10)
    out.update(search_p50_ms=round(percentile(search_ms, 50), 2), search_p99_ms=round(percentile(search_ms, 99), 2),
               search_and_passages_p50_ms=round(percentile(with_passages_ms, 50), 2),
               search_and_passages_p99_ms=round(percentile(with_passages_ms, 99), 2),
               recall_at_10=round(recall(found), 4))
    if vectors.kind == "ivf":
        sweep, default_nprobe = [], vectors.nprobe
        for nprobe in (4, 8, 16, 32, 64, 128):
            vectors.nprobe = nprobe
            for rerank in (True, False):
                exact = vectors.exact
                vectors.exact = exact if rerank else None
                ms, _, _ = timed_search(50)
                _, _, found = timed_search(10)
                sweep.append({"nprobe": nprobe, "rerank": rerank, "recall_at_10": round(recall(found), 4),
                              "search_p50_ms": round(percentile(ms, 50), 2),
                              "search_p99_ms": round(percentile(ms, 99), 2)})
                vectors.exact = exact
        vectors.nprobe = default_nprobe
        out.update(nlist=int(vectors.index.nlist), nprobe=default_nprobe, sweep=sweep)

    # one article through the real write path, until a search finds it
    writer = ArticleIndexer(index, Settings(index_dir=folder))
    item = ArticleIn(id="live-write-0001", title="Görlitz baut eine Seilbahn",
                     text="Die Stadt Görlitz plant eine Seilbahn über die Neiße. Der Stadtrat hat am Dienstag "
                          "zugestimmt. Die Kosten liegen bei zwölf Millionen Euro.\n\nBaubeginn ist 2026.")
    t0 = time.perf_counter()
    writer.write(item.to_article())
    ids = [p["passage_id"] for p in index.store.document("live-write-0001")["passages"]]
    _, found = index.vectors.search(index.store.vectors(np.array(ids), DIM), 1)
    assert found[:, 0].tolist() == ids, "the written article is not searchable"
    out["write_searchable_s"] = round(time.perf_counter() - t0, 3)
    before = sorted(p.name for p in folder.glob("vectors.g*.faiss"))
    t0 = time.perf_counter()
    assert index.save_vectors()
    out["save_after_write_s"] = round(time.perf_counter() - t0, 3)
    out["save_after_write_rewrote_base"] = sorted(p.name for p in folder.glob("vectors.g*.faiss")) != before
    t0 = time.perf_counter()
    assert index.save_vectors(replace=True)
    out["compaction_s"] = round(time.perf_counter() - t0, 2)
    out["rss_end_mb"], out["peak_rss_mb"] = (round(v) for v in rss_mb())
    index.close()
    return out


def exact_latency(x: np.ndarray, queries: np.ndarray, k: int = 50) -> float:
    import faiss

    flat = faiss.IndexFlatIP(DIM)
    flat.add(x)
    faiss.omp_set_num_threads(1)  # one query at a time, as a request is served
    times = []
    for q in queries[:60]:
        t0 = time.perf_counter()
        flat.search(q[None, :], k)
        times.append((time.perf_counter() - t0) * 1000)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    return round(statistics.median(times), 2)


def run(n: int, queries_count: int, batch: int, keep: Path | None) -> dict:
    import faiss

    folder = keep or Path(tempfile.mkdtemp(prefix=f"fundstelle-storage-{n}-"))
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    work = folder.parent / f"{folder.name}-work"
    work.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    sizes = corpus_shape(n)
    x = stand_in_vectors(sizes)
    rows, queries = stand_in_queries(x, queries_count)
    print(f"[{n}] {len(sizes)} articles, vectors made in {time.perf_counter() - t0:.1f}s", flush=True)
    result: dict = {"n": n, "articles": len(sizes), "queries": queries_count, "batch_articles": batch}
    result.update(write_corpus(folder, sizes, x, batch))
    print(f"[{n}] written in {result['write_s']}s, vectors built+saved in {result['build_s']}s", flush=True)
    # exact ground truth: passage ids are 1..n in insertion order
    flat = faiss.IndexFlatIP(DIM)
    flat.add(x)
    _, truth = flat.search(queries, 10)
    del flat
    np.save(work / "queries.npy", queries)
    np.save(work / "truth.npy", truth + 1)
    result["files"] = files(folder)
    result["disk_mb"] = round(sum(result["files"].values()) / 2**20)
    probe_out = subprocess.run([sys.executable, __file__, "--probe", str(folder), "--work", str(work)],
                               capture_output=True, text=True, check=False)
    if probe_out.returncode != 0:
        raise SystemExit(f"probe failed:\n{probe_out.stderr[-3000:]}")
    result.update(json.loads(probe_out.stdout.strip().splitlines()[-1]))
    result["exact_search_p50_ms"] = exact_latency(x, queries)
    print(f"[{n}] {json.dumps({k: v for k, v in result.items() if k not in ('sweep', 'files')})}", flush=True)
    if keep is None:
        shutil.rmtree(folder)
    shutil.rmtree(work)
    return result


def table(results: list[dict]) -> str:
    rows = [
        ("passages", "n", "{:,}"), ("vector index", "kind", "{}"),
        ("write through Store.upsert (s)", "write_s", "{}"), ("vector build + save (s)", "build_s", "{}"),
        ("on disk (MB)", "disk_mb", "{:,}"), ("cold start: Index.open (s)", "start_s", "{}"),
        ("cold start incl. imports (s)", "process_start_s", "{}"),
        ("serving RSS after start (MB)", "rss_after_start_mb", "{:,}"),
        ("RSS once the write path is imported (MB)", "rss_with_write_path_mb", "{:,}"),
        ("importing the write path (s)", "write_path_import_s", "{}"),
        ("peak RSS (MB)", "peak_rss_mb", "{:,}"),
        ("vector search p50 / p99 (ms), k=50", ("search_p50_ms", "search_p99_ms"), "{} / {}"),
        ("+ passages read p50 / p99 (ms)", ("search_and_passages_p50_ms", "search_and_passages_p99_ms"),
         "{} / {}"),
        ("recall@10 vs exact", "recall_at_10", "{}"), ("exact flat search p50 (ms)", "exact_search_p50_ms", "{}"),
        ("one article written -> searchable (s)", "write_searchable_s", "{}"),
        ("save after that write (s)", "save_after_write_s", "{}"), ("forced compaction (s)", "compaction_s", "{}"),
    ]
    lines = ["| | " + " | ".join(f"{r['n']:,}" for r in results) + " |", "|---" * (len(results) + 1) + "|"]
    for label, key, fmt in rows:
        cells = []
        for r in results:
            keys = key if isinstance(key, tuple) else (key,)
            cells.append(fmt.format(*(r.get(k, "-") for k in keys)) if all(k in r for k in keys) else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for r in results:
        if r.get("sweep"):
            lines += ["", f"nprobe sweep at {r['n']:,} (nlist {r['nlist']}, default nprobe {r['nprobe']}):", "",
                      "| nprobe | re-rank | recall@10 | p50 ms | p99 ms |", "|---|---|---|---|---|"]
            lines += [f"| {s['nprobe']} | {'yes' if s['rerank'] else 'no'} | {s['recall_at_10']} | "
                      f"{s['search_p50_ms']} | {s['search_p99_ms']} |" for s in r["sweep"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--compare-n", type=int, default=100_000, help="a second, smaller run (0: none)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--batch", type=int, default=256, help="articles per transaction")
    parser.add_argument("--keep", type=Path, help="index folder to build and keep (single size)")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe, args.work)))
        return
    results = [run(n, args.queries, args.batch, args.keep) for n in (args.n, args.compare_n) if n]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "command": "python bench/storage.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "results": results,
    }, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
