"""Fundstelle side by side with txtai 9 (the library a user would pick instead), in one run.

Both systems index the identical passage texts: XQuAD German paragraphs (first ``--articles``
articles) among ``--distractors`` 10kGNAD articles, cut by Fundstelle's own pipeline
(``passages_of`` + ``embedding_input``), with the same model folder and the same e5 prompts.
Questions: the German XQuAD questions of those articles, and the English ones against the
German paragraphs. A hit is any passage of the question's paragraph (its doc_id).

    .venv/bin/python bench/txtai_compare.py --articles 12 --distractors 100

Systems (each in its own subprocess, so peak RSS is not mixed; run one after another):
- ``fundstelle-auto-reader``: the product as shipped: the default encoder (``FUNDSTELLE_ENCODER=auto``: OpenVINO
  bf16 on a CPU with AMX, else ONNX int8; the result names which) and the reading model (``FUNDSTELLE_READER=on``),
  the same indexing path and search as the next;
- ``fundstelle-auto``: the same without the reader (the first stage alone); real indexing path
  (``evaluation.indexes.open_index`` into a fresh temporary folder, sentence vectors included),
  ``Searcher.search(q, 10)``;
- ``fundstelle-onnx-int8-reader``, ``fundstelle-onnx-int8``: the same with ONNX Runtime's int8 encoder (what
  ``auto`` gives a CPU without AMX);
- ``fundstelle-auto-late-reader``, ``fundstelle-onnx-int8-late-reader``: the first and the third with
  ``FUNDSTELLE_SENTENCE_VECTORS=late`` (sentence vectors pooled from the passages' own pass: one pass, no second
  one over the sentences);
- ``fundstelle-torch``: the same with the fp32 torch encoder (txtai's model runtime);
- ``txtai-exact``: ``Embeddings(content=True, hybrid=True)``, sentence-transformers on the model folder,
  FAISS ``IDMap,Flat``;
- ``txtai-default``: the same with txtai's own FAISS choice (``IDMap,Flat`` up to 5,000 rows, IVF above).

Measured per system: model load (s), indexing passages/s (model load excluded), search p50/p90 (ms,
one question at a time after one warm-up), peak RSS (ru_maxrss of the worker), R@5 and MRR@10 for
German and English questions. Results: a Markdown table and bench/results/txtai.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SYSTEMS = ("fundstelle-auto-reader", "fundstelle-auto", "fundstelle-onnx-int8-reader", "fundstelle-onnx-int8",
           "fundstelle-auto-late-reader", "fundstelle-onnx-int8-late-reader", "fundstelle-torch", "txtai-exact",
           "txtai-default")
TOP_K = 10
TXTAI_FAISS = {"txtai-exact": {"backend": "faiss", "faiss": {"components": "IDMap,Flat"}},
               "txtai-default": {}}


def _data(articles: int, distractors: int, limit: int | None = None):
    """The articles and the German and English questions (the same articles for both languages;
    with ``limit``, the first ``limit`` questions of each language)."""
    from evaluation.datasets import DEFAULT_CONTEXTS, DEFAULT_DISTRACTORS, load_dataset

    de = load_dataset(DEFAULT_CONTEXTS, None, DEFAULT_DISTRACTORS, articles, distractors, limit)
    en = load_dataset(DEFAULT_CONTEXTS, DEFAULT_CONTEXTS.parent / "xquad.en.json", DEFAULT_DISTRACTORS,
                      articles, distractors, limit)
    return de.articles, {"de": de.questions, "en": en.questions}


def passage_texts(articles, settings) -> list[tuple[str, str]]:
    """(id, text) of every passage, exactly what Fundstelle's model reads; the id is ``doc_id#ordinal``."""
    from indexer.pipeline import passages_of
    from text.inputs import embedding_input

    return [(f"{a.doc_id}#{n}", embedding_input(a.title, p.heading, p.text))
            for a in articles for n, p in enumerate(passages_of(a, settings))]


def _quality(ranked: list[list[str]], gold: list[str]) -> dict:
    """R@5 and MRR@10 over ranked doc_id lists (a doc appearing twice counts at its first rank)."""
    r5 = sum(g in docs[:5] for docs, g in zip(ranked, gold, strict=True)) / len(gold)
    mrr = sum(1 / (docs[:TOP_K].index(g) + 1) if g in docs[:TOP_K] else 0.0
              for docs, g in zip(ranked, gold, strict=True)) / len(gold)
    return {"r5": round(r5, 4), "mrr10": round(mrr, 4), "questions": len(gold)}


def _ask_all(search, questions: dict) -> dict:
    """Every question one at a time: latencies and quality per language."""
    search(next(iter(questions.values()))[0].text)  # warm-up, not timed
    timings, quality = [], {}
    for lang, qs in questions.items():
        ranked = []
        for q in qs:
            started = time.perf_counter()
            docs = search(q.text)
            timings.append((time.perf_counter() - started) * 1000)
            ranked.append(docs)
        quality[lang] = _quality(ranked, [q.doc_id for q in qs])
    cuts = statistics.quantiles(timings, n=10)
    return {"search_p50_ms": round(statistics.median(timings), 1), "search_p90_ms": round(cuts[8], 1),
            "searches": len(timings), "quality": quality}


def run_fundstelle(encoder_name: str, articles, questions, read: bool = False, late: bool = False) -> dict:
    from core.settings import Settings
    from evaluation.indexes import open_index
    from models.encoders import load_encoder
    from models.reader import load_reader
    from retrieval.searcher import Searcher

    settings = Settings(encoder=encoder_name, sentence_vectors="late" if late else "separate")
    started = time.perf_counter()
    encoder = load_encoder(settings)
    encoder.encode_queries(["warm-up"])  # lazy loaders pay here, not in the indexing time
    reader = load_reader(settings, encoder) if read else None  # with the encoder's tokenizer, as the service
    load_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="txtai-compare-") as folder:
        started = time.perf_counter()
        index, _ = open_index(articles, encoder, settings, Path(folder), progress=False, log=lambda *_: None)
        index_s = time.perf_counter() - started
        passages = index.counts()[1]
        searcher = Searcher.over(index, encoder, reader=reader)
        asked = _ask_all(lambda q: [h.passage.doc_id for h in searcher.search(q, TOP_K)], questions)
    return {"load_s": round(load_s, 1), "passages": passages, "index_s": round(index_s, 1),
            "passages_per_s": round(passages / index_s, 1), "encoder": encoder.description, "reader": read,
            "sentence_vectors": settings.sentence_vectors, **asked}


def run_txtai(system: str, articles, questions) -> dict:
    from txtai import Embeddings

    from core.settings import Settings

    settings = Settings()
    rows = passage_texts(articles, settings)
    started = time.perf_counter()
    # The model folder's sentence-transformers config names a "query: " prompt that encode_query would add
    # on its own (and an empty "document" prompt that encode_document picks first): ``prompt=""`` turns the
    # library prompts off, so txtai's instructions put exactly one e5 prefix on each side.
    embeddings = Embeddings(path=str(Path(settings.model).resolve()), method="sentence-transformers",
                            content=True, hybrid=True, gpu=False,
                            instructions={"query": settings.query_prompt, "data": settings.passage_prompt},
                            encodeargs={"prompt": ""}, vectors={"local_files_only": True},
                            **TXTAI_FAISS[system])
    embeddings.batchtransform(["warm-up"], category="query")  # as Fundstelle: warm before timing
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    embeddings.index([(pid, text, None) for pid, text in rows])
    index_s = time.perf_counter() - started
    faiss = embeddings.config.get("faiss") or {}
    components = faiss.get("components") or embeddings.config.get("components")
    check = _prefix_check(embeddings, settings)
    asked = _ask_all(lambda q: [r["id"].split("#")[0] for r in embeddings.search(q, TOP_K)], questions)
    return {"load_s": round(load_s, 1), "passages": embeddings.count(), "index_s": round(index_s, 1),
            "passages_per_s": round(len(rows) / index_s, 1), "faiss_components": components,
            "prefix_check": check, **asked}


def _prefix_check(embeddings, settings) -> dict:
    """Cosine of txtai's query/passage vectors with sentence-transformers' own, prompt added by hand:
    1.0 means txtai put exactly the e5 prefix on each side (a doubled or missing prefix shows < 1)."""
    import numpy as np

    model = embeddings.model.model
    text = "Wann wurde die Universität gegründet?"
    ours = model.encode([settings.query_prompt + text, settings.passage_prompt + text],
                        normalize_embeddings=True)
    theirs = np.vstack([embeddings.batchtransform([text], category="query"),
                        embeddings.batchtransform([text], category="data")])
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    return {"query": round(float(ours[0] @ theirs[0]), 4), "passage": round(float(ours[1] @ theirs[1]), 4)}


def worker(system: str, articles_n: int, distractors_n: int, limit: int | None = None) -> dict:
    articles, questions = _data(articles_n, distractors_n, limit)
    if system.startswith("fundstelle-"):
        encoder = system.removeprefix("fundstelle-").removesuffix("-reader")
        result = run_fundstelle(encoder.removesuffix("-late"), articles, questions, read=system.endswith("-reader"),
                                late=encoder.endswith("-late"))
    else:
        result = run_txtai(system, articles, questions)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def table(results: dict) -> str:
    lines = ["| system | passages/s | search p50 ms | p90 ms | peak RSS MB | de R@5 | de MRR@10 | en R@5 "
             "| en MRR@10 |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for system, r in results.items():
        if "error" in r:
            lines.append(f"| {system} | error: {r['error'][:80]} |||||||")
            continue
        q = r["quality"]
        lines.append(f"| {system} | {r['passages_per_s']} | {r['search_p50_ms']} | {r['search_p90_ms']} | "
                     f"{r['peak_rss_mb']} | {q['de']['r5']:.3f} | {q['de']['mrr10']:.3f} | "
                     f"{q['en']['r5']:.3f} | {q['en']['mrr10']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=48, help="XQuAD articles (48 = all)")
    parser.add_argument("--distractors", type=int, default=200, help="10kGNAD distractor articles")
    parser.add_argument("--questions", type=int, default=None, help="first N questions per language (all)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, of {SYSTEMS}")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "txtai.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.articles, args.distractors, args.questions)))
        return 0
    systems = [s for s in args.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}; choose from {SYSTEMS}")
    load_start, started, results = os.getloadavg(), time.time(), {}
    for system in systems:
        print(f"running {system} ...", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, __file__, "--worker", system, "--articles", str(args.articles),
                               "--distractors", str(args.distractors),
                               *(["--questions", str(args.questions)] if args.questions else [])],
                              cwd=ROOT, capture_output=True, text=True)
        if proc.returncode:
            results[system] = {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
            print(proc.stderr[-3000:], file=sys.stderr)
        else:
            results[system] = json.loads(proc.stdout.strip().splitlines()[-1])
    from bench.encoders import machine  # the CPU as every benchmark reports it

    host = machine()
    summary = {
        "command": " ".join([Path(sys.executable).name, "bench/txtai_compare.py", *(argv or sys.argv[1:])]),
        "machine": {"cpus": os.cpu_count(), "cpu": host["cpu"],
                    # the instruction sets that decide int8 speed (VNNI or not)
                    "cpu_flags": " ".join(f for f in host["isa"] if f in ("avx2", "avx512_vnni", "amx_bf16")),
                    "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
                    "load_avg_start": [round(x, 2) for x in load_start],
                    "load_avg_end": [round(x, 2) for x in os.getloadavg()],
                    "seconds": round(time.time() - started)},
        "articles": args.articles, "distractors": args.distractors,
        "questions_per_language": args.questions, "top_k": TOP_K, "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(table(results))
    print(f"\nload average {summary['machine']['load_avg_start']} -> {summary['machine']['load_avg_end']} "
          f"on {os.cpu_count()} CPUs; {summary['machine']['seconds']} s; written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
