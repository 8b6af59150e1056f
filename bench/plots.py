"""The figures of BENCHMARKS.md, drawn from the result files in bench/results/.

    .venv/bin/python bench/plots.py [--results bench/results] [--out docs]

Writes, each from the file named beside it (a figure whose file is missing is left out, and said so):

- docs/bench-quality-vs-txtai.png     txtai.json: quality, search p50, peak memory, indexing speed
- docs/bench-latency-vs-archive-size.png  http_latency.json (+ http_latency-reader-off.json): /api/ask over
                                      HTTP and the BM25 stage against the archive's passages
- docs/bench-encoder-speed.png        encoders.json: passages/s and peak memory per encoder
- docs/bench-reader.png               quality-{de,en,bundled}.json: first place with and without the reader

Every figure carries a caption line with the machine and the date of its measurement: the result
file's ``host``/``machine`` keys, and its ``date`` key, else the date of the commit that last
changed it, else the day the file was written. The drawing is deterministic (Agg backend, fixed sizes, no timestamps in the PNG).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server, and the same pixels everywhere
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
DPI = 110
# No creation date or software version in the PNG's metadata: the same results give the same bytes.
PNG_METADATA = {"Software": None}
FUNDSTELLE, TXTAI, OTHER = "#1f77b4", "#ff7f0e", "#7f7f7f"
# What FUNDSTELLE_ENCODER=auto (the default) answers questions with (models/encoders.py auto_variant).
DEFAULT_ENCODER = "onnx-int8"


def bulk_encoder(result: dict) -> str | None:
    """What auto hands bulk indexing to on the measured machine: openvino-bf16 where it has AMX (bulk_variant)."""
    return "openvino-bf16" if "amx_bf16" in result.get("machine", {}).get("isa", []) else None


def load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def measured_on(path: Path, result: dict) -> str:
    """The date of a measurement: the file's own ``date``, else the day of the commit that last changed it,
    else (not committed yet, or changed since) the day the file was written."""
    if result.get("date"):
        return str(result["date"])[:10]
    try:
        changed = subprocess.run(["git", "status", "--porcelain", "--", str(path)], cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout.strip()
        day = "" if changed else subprocess.run(["git", "log", "-1", "--format=%cs", "--", str(path)], cwd=ROOT,
                                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        day = ""
    return day or datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date().isoformat()


def machine_line(result: dict) -> str:
    """'2 cores Intel Xeon, avx2 avx512_vnni, 24 GiB' from whichever of the keys the script wrote."""
    host, machine = result.get("host") or {}, result.get("machine") or {}
    cpu = host.get("cpu") or machine.get("cpu") or "CPU"
    cores = host.get("cores") or machine.get("cores") or machine.get("cpus")
    isa = host.get("cpu_flags") or machine.get("cpu_flags") or \
        " ".join(f for f in machine.get("isa", []) if f in ("avx2", "avx512_vnni", "amx_bf16"))
    memory = host.get("memory_gib") or machine.get("memory_gib")
    parts = [f"{cores} cores {cpu}" if cores else cpu, isa, f"{memory} GiB" if memory else ""]
    return ", ".join(p for p in parts if p)


def caption(fig, text: str) -> None:
    fig.text(0.01, 0.01, text, fontsize=8, color="#444444", ha="left", va="bottom", wrap=True)


def save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, metadata=PNG_METADATA)
    plt.close(fig)
    return path


def label_bars(ax, bars, fmt: str, inside: bool = False) -> None:
    """The value on each bar: above it, or (narrow bars) written upwards inside its top."""
    for bar in bars:
        where = (bar.get_x() + bar.get_width() / 2, bar.get_height())
        if inside:
            ax.annotate(fmt.format(bar.get_height()), where, ha="center", va="top", fontsize=7, rotation=90,
                        color="white", xytext=(0, -3), textcoords="offset points")
        else:
            ax.annotate(fmt.format(bar.get_height()), where, ha="center", va="bottom", fontsize=8,
                        xytext=(0, 2), textcoords="offset points")


# -- quality and speed against txtai --------------------------------------------------------------------
SYSTEM_LABELS = {"fundstelle-auto-reader": "Fundstelle\n(as shipped)", "fundstelle-auto": "Fundstelle\n(no reader)",
                 "fundstelle-onnx-int8-reader": "int8 only\n(no AMX)", "fundstelle-onnx-int8": "int8 only\n(no reader)",
                 "fundstelle-auto-late-reader": "late\nsentences",
                 "fundstelle-onnx-int8-late-reader": "late, int8\n(no AMX)",
                 "fundstelle-torch": "torch fp32\n(no reader)",
                 "txtai-exact": "txtai hybrid\n(exact)", "txtai-default": "txtai hybrid\n(its default)"}


def quality_vs_txtai(path: Path, out: Path) -> Path | None:
    result = load(path)
    if result is None:
        return None
    runs = {name: r for name, r in result["results"].items() if "error" not in r}
    names = list(runs)
    labels = [SYSTEM_LABELS.get(n, n) for n in names]
    colours = [FUNDSTELLE if n.startswith("fundstelle") else TXTAI for n in names]
    fig, axes = plt.subplots(2, 2, figsize=(14, 8.5))

    ax = axes[0][0]
    metrics = [("de", "r5", "German R@5"), ("de", "mrr10", "German MRR@10"),
               ("en", "r5", "English R@5"), ("en", "mrr10", "English MRR@10")]
    width = 0.8 / len(names)
    for n, name in enumerate(names):
        values = [runs[name]["quality"][lang][key] for lang, key, _ in metrics]
        xs = [m + (n - (len(names) - 1) / 2) * width for m in range(len(metrics))]
        bars = ax.bar(xs, values, width, color=colours[n], alpha=1.0 if n % 2 == 0 else 0.55,
                      label=labels[n].replace("\n", " "))
        label_bars(ax, bars, "{:.3f}", inside=True)
    ax.set_xticks(range(len(metrics)), [m[2] for m in metrics], fontsize=9)
    ax.set_ylim(0.5, 1.0)
    ax.set_title("Quality: R@5 and MRR@10 (higher is better)", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False)

    for ax, key, title, fmt in ((axes[0][1], "search_p50_ms", "Search, one question, p50 ms (lower is better)",
                                 "{:.0f}"),
                                (axes[1][0], "passages_per_s", "Indexing, passages/s (higher is better; Fundstelle "
                                 "embeds every sentence too, unless late)", "{:.1f}"),
                                (axes[1][1], "peak_rss_mb", "Peak memory of the process, MB (lower is better)",
                                 "{:.0f}")):
        bars = ax.bar(range(len(names)), [runs[n][key] for n in names], color=colours)
        label_bars(ax, bars, fmt)
        ax.set_xticks(range(len(names)), labels, fontsize=7)
        ax.set_title(title, fontsize=10)
        ax.margins(y=0.15)

    first = runs[names[0]]
    machine = result.get("machine", {})
    load_avg = f"load average {machine['load_avg_start'][0]}–{machine['load_avg_end'][0]}" \
        if "load_avg_start" in machine else ""
    fig.suptitle(f"Fundstelle and txtai 9 on the same {first['passages']} "
                 f"passages, {first['quality']['de']['questions']} questions per language", fontsize=12)
    caption(fig, f"{result.get('command', '')} | {machine_line(result)} | {load_avg} | "
                 f"measured {measured_on(path, result)}; each system in its own process, one after another")
    fig.tight_layout(rect=(0, 0.04, 1, 0.96))
    return save(fig, out / "bench-quality-vs-txtai.png")


# -- latency against archive size ------------------------------------------------------------------------
def short(passages: int) -> str:
    return f"{passages / 1e6:g}M" if passages >= 1_000_000 else f"{passages // 1000}k"


def load_range(rows: list[dict]) -> str:
    """'0.3–2.0': the lowest and highest 1-minute load average the run recorded."""
    values = [v[0] for r in rows for v in r.get("load_avg", {}).values()]
    return f"{min(values):.1f}–{max(values):.1f}" if values else "not recorded"


def latency_vs_archive_size(path: Path, reader_off: Path, out: Path) -> Path | None:
    """/api/ask over HTTP and the BM25 stage against archive size, all sizes from one run (``path``); the
    first-stage-only latency (``reader_off``, a run of its own at one size) as a separate marker."""
    result = load(path)
    if result is None:
        return None
    rows = sorted(result["results"], key=lambda r: r["passages"])
    sizes = [r["passages"] for r in rows]
    fig, (http, bm25) = plt.subplots(1, 2, figsize=(11, 4.8))
    for key, style, name in (("p50_ms", "-", "p50"), ("p95_ms", "-.", "p95"), ("p99_ms", "--", "p99")):
        values = [r["sequential"][key] for r in rows]
        http.plot(sizes, values, marker="o", linestyle=style, color=FUNDSTELLE, label=f"{name}, with the reader")
        for x, y in zip(sizes, values, strict=True):
            http.annotate(f"{y:.0f}", (x, y), fontsize=7, xytext=(4, -9), textcoords="offset points")
    off = load(reader_off)
    if off is not None:
        off_rows = sorted(off["results"], key=lambda r: r["passages"])
        values = [r["sequential"]["p50_ms"] for r in off_rows]
        http.plot([r["passages"] for r in off_rows], values, marker="s", linestyle="-", color=OTHER,
                  label=f"p50, FUNDSTELLE_READER=off (a run of its own, load {load_range(off_rows)})")
        for r, y in zip(off_rows, values, strict=True):
            http.annotate(f"{y:.0f}", (r["passages"], y), fontsize=7, xytext=(4, -9), textcoords="offset points")
    http.set_ylim(bottom=0)
    stages = [r.get("stages_p50_ms", {}) for r in rows]
    for key, colour, style, name in (
        ("BM25 FTS5 k=50", OTHER, "-", "SQLite FTS5 scoring every match"),
        ("BM25 tantivy k=50", FUNDSTELLE, ":", "tantivy top 50 alone"),
        ("BM25 tantivy 200 + exact scores k=50", FUNDSTELLE, "-", "tantivy top 200, FTS5's scores (shipped)"),
    ):
        values = [s.get(key) for s in stages]
        if all(v is not None for v in values):
            bm25.plot(sizes, values, marker="o", linestyle=style, color=colour, label=name)
    for ax in (http, bm25):
        ax.set_xscale("log")
        ax.set_xticks(sizes, [short(n) for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("passages in the archive (log scale)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right" if ax is http else "upper left")
    http.set_ylabel("ms")
    http.set_title("POST /api/ask over HTTP, one question at a time", fontsize=10)
    bm25.set_ylabel("ms, p50 in process (log scale)")
    bm25.set_title("Only the BM25 stage, top 50", fontsize=10)
    bm25.set_yscale("log")
    caption(fig, f"{result.get('command', 'bench/http_latency.py')} | {machine_line(result)} | "
                 f"load average {load_range(rows)} | measured {measured_on(path, result)} | stand-in vectors, "
                 f"real texts, real question embedding")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return save(fig, out / "bench-latency-vs-archive-size.png")


def ranked_bars(ax, names: list[str], values: list[float], colours: list[str], notes: list[str], xlabel: str,
                title: str, margin: float) -> None:
    """Horizontal bars, first name on top, each with its note written after its end."""
    bars = ax.barh(names, values, color=colours)
    for bar, note in zip(bars, notes, strict=True):
        ax.annotate(note, (bar.get_width(), bar.get_y() + bar.get_height() / 2), va="center", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.margins(x=margin)
    ax.invert_yaxis()


# -- encoders --------------------------------------------------------------------------------------------
def encoder_speed(path: Path, out: Path) -> Path | None:
    result = load(path)
    if result is None:
        return None
    backends = result["backends"]
    names = list(backends)
    default, bulk = DEFAULT_ENCODER, bulk_encoder(result)
    colours = [FUNDSTELLE if n in (default, bulk) else OTHER for n in names]
    shown = [f"{n}\n(default)" if n == default else f"{n}\n(bulk, AMX)" if n == bulk else n for n in names]
    fig, (speed, memory) = plt.subplots(1, 2, figsize=(11, 4.2))
    ranked_bars(speed, shown, [backends[n]["passages_per_s"] for n in names], colours,
                [f" {b['passages_per_s']:.1f}/s  ({b['ratio_to_torch']:.2f}× torch, cos {b['cos_mean']:.3f})"
                 for b in map(backends.get, names)],
                "passages/s (higher is better)", "Embedding passages, taking turns in one process", margin=0.6)
    ranked_bars(memory, shown, [backends[n].get("peak_rss_mb", 0) for n in names], colours,
                [f" {b.get('peak_rss_mb', 0):.0f} MB (load {b.get('load_s', 0):.1f} s)" for b in map(backends.get, names)],
                "peak RSS MB of a fresh process: load + 256 passages (lower is better)", "Memory", margin=0.45)
    fig.suptitle(f"Encoders of the same model (multilingual-e5-small): {result['passages']} passages, "
                 f"{result['tokens']:,} tokens", fontsize=12)
    m = result["machine"]
    caption(fig, f"{result.get('command', 'bench/encoders.py')} | {machine_line(result)} | "
                 f"load average at the end {m['load_average'][0]:.1f} | measured {measured_on(path, result)}")
    fig.tight_layout(rect=(0, 0.05, 1, 0.94))
    return save(fig, out / "bench-encoder-speed.png")


# -- the reader ------------------------------------------------------------------------------------------
def reader_quality(folder: Path, out: Path) -> Path | None:
    de, en, bundled = (load(folder / f"quality-{s}.json") for s in ("de", "en", "bundled"))
    if de is None or en is None or bundled is None:
        return None
    groups = [
        ("XQuAD German\nR@1", de["results"]["hybrid-no-reader"]["recall@1"], de["results"]["hybrid"]["recall@1"]),
        ("XQuAD German\nMRR@10", de["results"]["hybrid-no-reader"]["mrr@10"], de["results"]["hybrid"]["mrr@10"]),
        ("XQuAD English\nR@1", en["results"]["hybrid-no-reader"]["recall@1"], en["results"]["hybrid"]["recall@1"]),
        ("XQuAD English\nMRR@10", en["results"]["hybrid-no-reader"]["mrr@10"], en["results"]["hybrid"]["mrr@10"]),
        ("question set\nGerman hit@1", bundled["results_without_reader"]["de"]["hit@1"],
         bundled["results"]["de"]["hit@1"]),
        ("question set\nEnglish hit@1", bundled["results_without_reader"]["en"]["hit@1"],
         bundled["results"]["en"]["hit@1"]),
    ]
    fig, ax = plt.subplots(figsize=(11, 4.4))
    xs = range(len(groups))
    label_bars(ax, ax.bar([x - 0.2 for x in xs], [g[1] for g in groups], 0.4, color=OTHER,
                          label="first stage only (FUNDSTELLE_READER=off)"), "{:.3f}")
    label_bars(ax, ax.bar([x + 0.2 for x in xs], [g[2] for g in groups], 0.4, color=FUNDSTELLE,
                          label="with the reader (default)"), "{:.3f}")
    ax.set_xticks(list(xs), [g[0] for g in groups], fontsize=9)
    ax.set_ylim(0.6, 1.04)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(f"The answer in first place, with and without the reading model\n"
                 f"({de['asked']} XQuAD questions per language among {de['passages']:,} passages; "
                 f"{bundled['results']['all']['questions']} answerable hand-written)", fontsize=10)
    caption(fig, "fundstelle eval --distractors ../shared/data/10kGNAD/test.csv [--questions …xquad.en.json] "
                 "--json; fundstelle eval --set bundled --json | reports both settings in one run | measured "
                 f"{measured_on(folder / 'quality-de.json', de)}")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return save(fig, out / "bench-reader.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    plt.rcParams.update({"svg.hashsalt": "fundstelle", "font.size": 9})
    figures = {
        "txtai.json": lambda: quality_vs_txtai(args.results / "txtai.json", args.out),
        "http_latency.json": lambda: latency_vs_archive_size(args.results / "http_latency.json",
                                                             args.results / "http_latency-reader-off.json", args.out),
        "encoders.json": lambda: encoder_speed(args.results / "encoders.json", args.out),
        "quality-{de,en,bundled}.json": lambda: reader_quality(args.results, args.out),
    }
    missing = 0
    for source, draw in figures.items():
        written = draw()
        if written is None:
            missing += 1
            print(f"left out: no {source} in {args.results}", file=sys.stderr)
        else:
            print(f"wrote {written.relative_to(ROOT) if written.is_relative_to(ROOT) else written}")
    return 1 if missing == len(figures) else 0


if __name__ == "__main__":
    raise SystemExit(main())
