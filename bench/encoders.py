"""Encoder backends side by side, in one run: speed, memory, agreement with fp32 torch, and the
sentence vectors for the highlight (late chunking vs. embedded separately vs. query time).

    .venv/bin/python bench/encoders.py [--backends torch,onnx,onnx-int8,...] [--gnad-passages 1000]
                                       [--questions 0 (all)] [--chunk 64]

Passages: the bundled corpus (data/corpus) plus about --gnad-passages passages of 10kGNAD's test
split, cut by the real pipeline (``indexer.pipeline.passages_of``) and read as indexing reads them
(``text.inputs.embedding_input`` with the passage prompt).

Speed: every backend is loaded into this one process and the passages are encoded in chunks,
round-robin over the backends, so a neighbour's load on the shared CPU hits all of them alike;
passages/s and tokens/s are totals over the chunks, the ratio is to fp32 torch of the same run.
Load time and peak RSS come from a fresh subprocess per backend (load + encode 256 passages),
RSS delta = peak minus the process's RSS just before the model is loaded.

Highlight (XQuAD de): every paragraph is an article (titled with its SQuAD title) cut into
passages by the pipeline. For each question, the first passage of its paragraph that holds a
gold answer and has more than one sentence; a hit when the sentence with the highest cosine to
the question vector contains a gold answer ("cos"), or with the product's lexical tie-break
for German questions ("cos+lex"). Methods: "query-time" = today's highlighter (torch fp32,
sentences embedded with the first title words, as ``retrieval.stages.evidence.sentence_inputs``) — the
reference; "separate" = the same sentence inputs embedded at index time by the backend; "late" =
pooled from the passage's own forward pass. "agree" = same sentence as the reference;
"para" = the best sentence over all passages of the paragraph holds the answer. "dense R@5"
= the gold paragraph among the top 5 XQuAD passages by cosine alone (no BM25: a quick proxy,
the product's R@5 comes from `fundstelle eval`).

Writes bench/results/encoders.json and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.documents import Article  # noqa: E402
from core.settings import Settings  # noqa: E402
from indexer.ingest.readers import read_articles  # noqa: E402
from indexer.pipeline import passages_of  # noqa: E402
from models.encoders import VARIANTS, SentenceEncoder, cpu_cores, exported_variants, passage_spans  # noqa: E402
from text.inputs import embedding_input  # noqa: E402
from text.terms import terms  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results" / "encoders.json"
REFERENCE = "torch"
LOAD_PASSAGES = 256  # the subprocess's working set: load + this many passages


@dataclass
class Item:
    """One passage as the index sees it: model input, sentence spans in it, highlighter inputs."""

    doc_id: str
    text: str  # passage text
    input: str  # embedding_input(...)
    spans: list[tuple[int, int]]  # sentence offsets within ``input``
    sentences: list[tuple[int, int]]  # sentence offsets within ``text``
    sentence_texts: list[str]  # what the query-time highlighter embeds for each sentence


def items_of(article: Article, settings: Settings) -> list[Item]:
    from retrieval.stages.evidence import sentence_inputs

    out = []
    for p in passages_of(article, settings):
        model_input = embedding_input(article.title, p.heading, p.text)
        stored = SimpleNamespace(text=p.text, title=article.title, sentences=p.sentences)
        inputs = sentence_inputs(stored)
        out.append(Item(article.doc_id, p.text, model_input, passage_spans(model_input, p.text, p.sentences),
                        [(s, e) for s, e, _ in inputs], [t for *_, t in inputs]))
    return out


def speed_items(settings: Settings, gnad_passages: int) -> list[Item]:
    from evaluation.datasets import gnad_articles

    bundled = [a for a in read_articles([ROOT / "data" / "corpus"]) if isinstance(a, Article)]
    out = [i for a in bundled for i in items_of(a, settings)]
    corpus = len(out)
    for article in gnad_articles(SHARED / "10kGNAD" / "test.csv"):
        out += items_of(article, settings)
        if len(out) - corpus >= gnad_passages:
            break
    return out


@dataclass
class Question:
    text: str
    doc_id: str
    answers: list[str]


def xquad(settings: Settings, limit: int) -> tuple[list[Item], list[Question]]:
    from evaluation.datasets import _squad, squad_articles

    contexts = _squad(SHARED / "xquad" / "xquad.de.json")
    items = [i for a in squad_articles(contexts) for i in items_of(a, settings)]
    questions = []
    for a, entry in enumerate(contexts):
        for p, paragraph in enumerate(entry["paragraphs"]):
            for qa in paragraph["qas"]:
                answers = list(dict.fromkeys(x["text"] for x in qa["answers"] if x["text"].strip()))
                questions.append(Question(qa["question"].strip(), f"xquad-{a:02d}-{p:02d}", answers))
    questions = questions[:limit] if limit else questions
    wanted = {q.doc_id for q in questions}  # a sample of questions needs only their paragraphs' passages
    return [i for i in items if i.doc_id in wanted], questions


def token_counts(folder: str, texts: list[str]) -> list[int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return [len(ids) for ids in tokenizer(texts, truncation=True, max_length=512)["input_ids"]]


# -- the load/memory probe, in a fresh process per backend ------------------------------------
def rss_kb() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))


def probe(encoder: str, texts_file: Path) -> None:
    texts = json.loads(texts_file.read_text())
    settings = Settings()
    before = rss_kb()
    started = time.perf_counter()
    enc = SentenceEncoder(settings.model, encoder, batch_size=settings.embed_batch_size)
    enc.encode_queries(["warm-up"])  # loads the model (opening an index reads only the width from the folder)
    load_s = time.perf_counter() - started
    enc.encode_passages(texts)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"load_s": load_s, "rss_before_mb": before / 1024, "peak_rss_mb": peak / 1024,
                      "rss_delta_mb": (peak - before) / 1024}))


def run_probe(encoder: str, texts_file: Path) -> dict:
    result = subprocess.run([sys.executable, __file__, "--probe", encoder, "--texts", str(texts_file)],
                            capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"}
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- timing, round-robin ----------------------------------------------------------------------
def round_robin(encoders: dict[str, SentenceEncoder], n: int, chunk: int, work) -> tuple[dict, dict]:
    """Run ``work(encoder, start, stop)`` over [0, n) in chunks, the backends taking turns per chunk."""
    seconds = dict.fromkeys(encoders, 0.0)
    outputs: dict[str, list] = {name: [] for name in encoders}
    for start in range(0, n, chunk):
        for name, enc in encoders.items():
            t = time.perf_counter()
            outputs[name].append(work(enc, start, min(n, start + chunk)))
            seconds[name] += time.perf_counter() - t
    return seconds, outputs


# -- highlight --------------------------------------------------------------------------------
def _contains(text: str, answers: list[str]) -> bool:
    low = text.lower()
    return any(a.lower() in low for a in answers)


def lexical_bonus(question: str, sentence: str) -> float:
    try:
        from retrieval.stages.evidence import LEXICAL_WEIGHT
    except ImportError:  # pragma: no cover - the module moved
        LEXICAL_WEIGHT = 0.02
    # XQuAD de questions are German: the product adds the shared-terms bonus for German questions
    return LEXICAL_WEIGHT * len(set(terms(question)) & set(terms(sentence)))


def highlight_scores(items: list[Item], questions: list[Question], qvecs: np.ndarray,
                     sentence_vectors: list[np.ndarray], reference_choice: dict[int, int] | None) -> tuple[dict, dict]:
    """Highlight rates of one set of sentence vectors, and the chosen sentence per question."""
    by_doc: dict[str, list[int]] = {}
    for n, item in enumerate(items):
        by_doc.setdefault(item.doc_id, []).append(n)
    hits = {"cos": 0, "cos+lex": 0, "para": 0, "agree": 0, "ceiling": 0}
    counted, choice = 0, {}
    for qn, q in enumerate(questions):
        members = by_doc.get(q.doc_id, [])
        target = next((n for n in members if len(items[n].sentences) > 1 and _contains(items[n].text, q.answers)),
                      None)
        if target is None:
            continue
        counted += 1
        item = items[target]
        sims = sentence_vectors[target] @ qvecs[qn]
        texts = [item.text[s:e] for s, e in item.sentences]
        best = int(np.argmax(sims))
        lex = int(np.argmax([float(c) + lexical_bonus(q.text, t) for c, t in zip(sims, texts, strict=True)]))
        choice[qn] = best
        hits["cos"] += _contains(texts[best], q.answers)
        hits["cos+lex"] += _contains(texts[lex], q.answers)
        hits["ceiling"] += any(_contains(t, q.answers) for t in texts)
        if reference_choice is not None:
            hits["agree"] += reference_choice.get(qn) == best
        # the best sentence over the whole paragraph (all its passages)
        candidates = [(float(v @ qvecs[qn]), items[n].text[s:e]) for n in members
                      for v, (s, e) in zip(sentence_vectors[n], items[n].sentences, strict=True)]
        hits["para"] += _contains(max(candidates)[1], q.answers)
    rates = {k: round(v / max(counted, 1), 4) for k, v in hits.items()}
    if reference_choice is None:
        rates["agree"] = 1.0
    rates["questions"] = counted
    return rates, choice


def dense_recall(items: list[Item], questions: list[Question], qvecs: np.ndarray, pvecs: np.ndarray,
                 k: int = 5) -> float:
    docs = np.array([i.doc_id for i in items])
    top = np.argsort(-(qvecs @ pvecs.T), axis=1)[:, :k]
    return round(float(np.mean([q.doc_id in set(docs[row]) for q, row in zip(questions, top, strict=True)])), 4)


# -- main -------------------------------------------------------------------------------------
def machine() -> dict:
    flags = ""
    model = platform.processor()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name"))
        flags = next(line.split(":", 1)[1] for line in cpuinfo.splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        pass
    isa = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16")
           if f in flags.split()]
    versions = {}
    for name in ("torch", "onnxruntime", "openvino", "sentence_transformers", "transformers", "optimum", "nncf"):
        with contextlib.suppress(ImportError, AttributeError):
            versions[name] = __import__(name).__version__
    return {"cpu": model, "isa": isa, "cores": cpu_cores(), "python": platform.python_version(),
            "load_average": os.getloadavg(), "versions": versions}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default=None, help="comma-separated (default: every exported one)")
    parser.add_argument("--gnad-passages", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=0, help="XQuAD questions (0: all 1190)")
    parser.add_argument("--chunk", type=int, default=64, help="passages per round-robin turn")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--texts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(args.probe, args.texts)
        return 0

    settings = Settings()
    available = exported_variants(Path(settings.model))
    names = [b.strip() for b in args.backends.split(",")] if args.backends else available
    names = [REFERENCE] + [n for n in names if n != REFERENCE]
    missing = [n for n in names if n not in available]
    if missing:
        print(f"not exported: {', '.join(missing)} (run .venv/bin/python -m models.export --variants ...)")
        return 2

    print(f"load average {os.getloadavg()[0]:.1f} at the start", file=sys.stderr)
    items = speed_items(settings, args.gnad_passages)
    prompted = [settings.passage_prompt + i.input for i in items]
    tokens = token_counts(settings.model, prompted)
    print(f"{len(items)} passages ({sum(tokens)} tokens), backends: {', '.join(names)}", file=sys.stderr)

    texts_file = args.out.parent / ".encoder-probe-texts.json"
    texts_file.parent.mkdir(parents=True, exist_ok=True)
    texts_file.write_text(json.dumps([i.input for i in items[:LOAD_PASSAGES]]))
    probes = {n: run_probe(n, texts_file) for n in names}
    texts_file.unlink()

    encoders = {n: SentenceEncoder(settings.model, n, batch_size=settings.embed_batch_size) for n in names}
    for enc in encoders.values():
        enc.encode_passages([i.input for i in items[:8]])  # warm-up: first-call allocations are not speed

    inputs = [i.input for i in items]
    plain_s, plain = round_robin(encoders, len(items), args.chunk,
                                 lambda e, a, b: e.encode_passages(inputs[a:b]))
    # late chunking needs sentence-transformers' model (token vectors with offsets): not the lean-only variants
    can_late = {n: e for n, e in encoders.items() if not VARIANTS[n].lean_only}
    late_s, late = round_robin(can_late, len(items), args.chunk, lambda e, a, b: e.encode_passages_with_sentences(
        inputs[a:b], [i.spans for i in items[a:b]], method="late")[1])
    multi = [t for i in items if len(i.sentence_texts) > 1 for t in i.sentence_texts]
    sep_s, _ = round_robin(encoders, len(multi), args.chunk * 4, lambda e, a, b: e.encode_passages(multi[a:b]))
    vectors = {n: np.concatenate(plain[n]) for n in names}

    xitems, questions = xquad(settings, args.questions)
    print(f"XQuAD: {len(xitems)} passages, {len(questions)} questions", file=sys.stderr)
    results: dict = {"machine": machine(), "passages": len(items), "tokens": int(sum(tokens)),
                     "sentences_embedded_separately": len(multi), "backends": {}, "highlight": {}}
    reference_choice = None
    for name in names:
        enc = encoders[name]
        qvecs = enc.encode_queries([q.text for q in questions])
        pvecs, late_vectors = enc.encode_passages_with_sentences(
            [i.input for i in xitems], [i.spans for i in xitems], method="late") if name in can_late else \
            (enc.encode_passages([i.input for i in xitems]), None)
        _, separate_vectors = enc.encode_passages_with_sentences(
            [i.input for i in xitems], [i.spans for i in xitems], method="separate",
            sentence_texts=[i.sentence_texts for i in xitems])
        if name == REFERENCE:
            ref_q, ref_p = qvecs, pvecs
            rates, reference_choice = highlight_scores(xitems, questions, qvecs, separate_vectors, None)
            results["highlight"]["query-time (torch, reference)"] = rates
        for method, sv in (("separate", separate_vectors), ("late", late_vectors)):
            if sv is None:
                continue
            rates, _ = highlight_scores(xitems, questions, qvecs, sv, reference_choice)
            results["highlight"][f"{name} {method}"] = rates
        cos = (vectors[name] * vectors[REFERENCE]).sum(axis=1)
        qcos = (qvecs * ref_q).sum(axis=1)
        pcos = (pvecs * ref_p).sum(axis=1)
        base = plain_s[REFERENCE]
        results["backends"][name] = {
            "note": VARIANTS[name].note, "fingerprint": enc.fingerprint,
            "passages_per_s": round(len(items) / plain_s[name], 1),
            "tokens_per_s": round(sum(tokens) / plain_s[name]),
            "ratio_to_torch": round(base / plain_s[name], 2),
            "late_passages_per_s": round(len(items) / late_s[name], 1) if name in late_s else None,
            "separate_sentences_s": round(sep_s[name], 1),
            "separate_overhead": round(sep_s[name] / plain_s[name], 2),
            "cos_mean": round(float(cos.mean()), 5), "cos_min": round(float(cos.min()), 5),
            "query_cos_mean": round(float(np.concatenate([qcos, pcos]).mean()), 5),
            "query_cos_min": round(float(np.concatenate([qcos, pcos]).min()), 5),
            "dense_r5_xquad": dense_recall(xitems, questions, qvecs, pvecs),
            **probes[name],
        }
        print(f"done {name}", file=sys.stderr)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    return 0


def report(results: dict) -> str:
    m = results["machine"]
    lines = [f"Encoders on {m['cpu']} ({m['cores']} cores, {' '.join(m['isa'])}), {results['passages']} passages "
             f"/ {results['tokens']} tokens, load average at the end {m['load_average'][0]:.1f}", "",
             "| encoder | passages/s | tokens/s | x torch | +late sent. p/s | separate sent. cost (x passages) "
             "| cos mean | cos min | q/xquad cos mean | dense R@5 | load s | peak RSS MB | RSS delta MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, b in results["backends"].items():
        lines.append(
            f"| {name} | {b['passages_per_s']} | {b['tokens_per_s']} | {b['ratio_to_torch']} "
            f"| {b['late_passages_per_s'] or '—'} "
            f"| {b['separate_overhead']} | {b['cos_mean']:.4f} | {b['cos_min']:.4f} | {b['query_cos_mean']:.4f} "
            f"| {b['dense_r5_xquad']} | {b.get('load_s', float('nan')):.1f} | {b.get('peak_rss_mb', float('nan')):.0f} "
            f"| {b.get('rss_delta_mb', float('nan')):.0f} |")
    lines += ["", "| sentence vectors | highlight cos | highlight cos+lex | paragraph-wide | agree w/ reference "
              "| ceiling | questions |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, h in results["highlight"].items():
        lines.append(f"| {name} | {h['cos']} | {h['cos+lex']} | {h['para']} | {h['agree']} | {h['ceiling']} "
                     f"| {h['questions']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
