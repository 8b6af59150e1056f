"""Filtered dense retrieval: where exact scoring of the allowed passages stops paying off.

    .venv/bin/python bench/filters.py                # 200,000 passages, 20 outlets of 10,000
    .venv/bin/python bench/filters.py --n 100000

Builds a store of ``--n`` passages (random unit vectors, raw inserts: only the read path is
timed), in articles of 5 passages spread over outlets of very different sizes, and a flat vector
index over them. For filters of growing size it times, in one run (ratios, not absolute limits):

- ``list``: listing the allowed passage ids (:func:`store.filters.allowed_passages`);
- ``exact``: reading their vectors and scoring them (the narrow-filter path);
- ``oversampled``: the vector index searched with oversampling (the broad-filter path);
- ``index k=50``: the unfiltered dense search, for scale.

The switch point :data:`store.filters.EXACT_MAX` is where ``exact`` overtakes ``oversampled``
(or stays below the unfiltered search plus a few ms).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from core.filters import Filters
from store.filters import allowed_passages, dense_within, oversampled
from store.store import Store
from store.vectors import new_index

DIM = 384
PER_ARTICLE = 5


def build(folder: Path, n: int, outlets: list[tuple[str, int]]) -> tuple[Store, object, np.ndarray]:
    store = Store(folder / "bench.sqlite3")
    store.initialise()
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    conn = store.conn
    conn.execute("BEGIN")
    pid = 0
    doc = 0
    for source, passages in outlets:
        for start in range(0, passages, PER_ARTICLE):
            doc += 1
            day = f"2025-{1 + doc % 12:02d}-{1 + doc % 28:02d}"
            conn.execute("INSERT INTO documents VALUES (?, ?, ?, ?, NULL, ?, ?, 0)",
                         (f"d{doc}", "t", source, day, "x" * 40, str(doc)))
            rows = [(pid + i + 1, f"d{doc}", i, 1, 0, 1, None, "[]", vectors[pid + i].tobytes())
                    for i in range(min(PER_ARTICLE, passages - start))]
            conn.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            pid += len(rows)
    conn.execute("COMMIT")
    index = new_index(DIM)
    index.add(np.arange(1, n + 1, dtype=np.int64), vectors)
    return store, index, vectors


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [1_000, 5_000, 10_000, 20_000, 50_000]
    outlets = [(f"Outlet{s}", s) for s in sizes]
    outlets.append(("Rest", args.n - sum(sizes)))
    with tempfile.TemporaryDirectory() as tmp:
        store, vectors, data = build(Path(tmp), args.n, outlets)
        index = SimpleNamespace(store=store, vectors=vectors)
        query = data[123] + 0.3 * np.random.default_rng(1).standard_normal(DIM).astype(np.float32)
        query /= np.linalg.norm(query)
        unfiltered, _ = timed(lambda: vectors.search(query[None, :], 50), args.repeat)
        print(f"{args.n:,} passages; unfiltered index search k=50: {unfiltered:.1f} ms")
        print("| allowed | list ms | exact ms | oversampled ms | same top 50 |")
        print("|---:|---:|---:|---:|:---:|")
        for name, size in outlets[:-1]:
            filters = Filters(sources=(name,))
            with store.snapshot() as conn:
                listing, allowed = timed(lambda c=conn, f=filters: allowed_passages(c, f), args.repeat)
                exact, best = timed(lambda c=conn, f=filters, a=allowed: dense_within(index, query, f, a, 50, c,
                                                                                  exact_max=1 << 62),
                                    args.repeat)
                over, approx = timed(lambda a=allowed: oversampled(index, query, a, 50), args.repeat)
            same = [p for p, _ in best] == [p for p, _ in approx]
            print(f"| {size:,} | {listing:.1f} | {exact:.1f} | {over:.1f} | {'yes' if same else 'no'} |")
        store.close()


if __name__ == "__main__":
    try:
        main()
    except sqlite3.Error as exc:
        raise SystemExit(f"sqlite error: {exc}") from exc
