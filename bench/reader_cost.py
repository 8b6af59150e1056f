"""What the reading model costs over HTTP: /api/ask with the reader on and off, side by side in one run.

    .venv/bin/python bench/reader_cost.py [--rounds 3] [--index-dir var/index]

Two ``fundstelle serve`` processes over the same index (the bundled articles unless --index-dir names
another), one with ``FUNDSTELLE_READER=on`` and one with ``off``. Every question of the bundled question
set (``data/questions``, answerable and not, follow-ups with their history) is asked of both, one at a
time, the order of the two servers alternating from question to question, so a neighbour's load on the
shared CPU hits both alike; after one warm-up round. Reports p50/p95/p99 per server and the ratio of
the p50s.

Writes bench/results/reader_cost.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.encoders import machine  # noqa: E402
from bench.http_latency import ask, start_server, summary  # noqa: E402
from evaluation.questionset import read_question_set  # noqa: E402


def bundled_index(folder: Path) -> Path:
    """The bundled articles indexed by the CLI, as ``make run`` does."""
    subprocess.run([str(Path(sys.executable).parent / "fundstelle"), "index", str(ROOT / "data" / "corpus"),
                    "--index-dir", str(folder)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="times each question is asked of each server")
    parser.add_argument("--index-dir", type=Path, default=None, help="an existing index (default: the bundled "
                        "articles, indexed into a temporary folder)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "reader_cost.json")
    args = parser.parse_args()

    questions = read_question_set()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="fundstelle-reader-cost-") as scratch:
        folder = args.index_dir or bundled_index(Path(scratch) / "index")
        servers = {}
        try:
            for mode in ("on", "off"):
                proc, url, _ = start_server(folder, Path(scratch) / f"serve-{mode}.log", {"FUNDSTELLE_READER": mode})
                servers[mode] = (proc, httpx.Client(base_url=url, timeout=60))
            for q in questions:  # warm-up
                for _, client in servers.values():
                    ask(client, q.text, history=list(q.history))
            times: dict[str, list[float]] = {"on": [], "off": []}
            for round_ in range(args.rounds):
                for i, q in enumerate(questions):
                    order = ("on", "off") if (i + round_) % 2 == 0 else ("off", "on")
                    for mode in order:
                        times[mode].append(ask(servers[mode][1], q.text, history=list(q.history)))
        finally:
            for proc, client in servers.values():
                client.close()
                proc.terminate()
                proc.wait(timeout=30)
    on, off = summary(times["on"]), summary(times["off"])
    result = {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine() | {"load_average": {"before": load_before, "after": os.getloadavg()}},
        "index": str(args.index_dir or "bundled articles (data/corpus)"),
        "questions": len(questions), "rounds": args.rounds,
        "reader_on": on, "reader_off": off,
        "p50_ratio": round(on["p50_ms"] / off["p50_ms"], 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("| /api/ask | p50 ms | p95 ms | p99 ms | mean ms |\n|---|---|---|---|---|")
    for name, r in (("reader on", on), ("reader off", off)):
        print(f"| {name} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['mean_ms']} |")
    print(f"\np50 on / off: {result['p50_ratio']}x over {len(questions)} questions x {args.rounds} rounds; "
          f"load {load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}; {' '.join(result['machine']['isa'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
