"""Offline measurement of the reader against the first stage alone, on the same run.

    python -m training.measure first-stage --set dev|xquad-eval|bundled   # ask (once per set and code)
    python -m training.measure read --set SET [--serving DIR] [--tag T]  # the reader scores every candidate
    python -m training.measure fit [--tag T]                             # fusion + calibration on dev
    python -m training.measure report --set SET [--tag T]                # first stage vs fused
    python -m training.measure speed [--serving DIR]                     # ms to read N sentences (bundled set)

Records live in var/reader/runs/ (see :mod:`training.candidates`). ``fit`` reads only the ``dev`` set (held-out
``train`` questions) and writes models/reader/weights/fusion.json; ``report`` never fits anything.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from models.reader.fusion import decisive, sentences_to_read
from training.candidates import (
    READ,
    SETS,
    TOP,
    WORK,
    Asked,
    Candidate,
    ask,
    contains,
    load,
    open_index,
    read,
    save,
    training_encoder,
)
from training.fusion import Fusion, fit

RUNS = WORK / "runs"
K = 10  # MRR@10, and the top answers that count


def _first_path(name: str) -> Path:
    return RUNS / f"{name}.first.jsonl.gz"


def _read_path(name: str, tag: str) -> Path:
    return RUNS / f"{name}.{tag}.jsonl.gz"


def first_stage(name: str, log=print) -> Path:
    from retrieval.retrievers import IndexRetriever
    from retrieval.searcher import Searcher

    articles, queries = SETS[name]()
    encoder, settings = training_encoder()
    index = open_index(name, articles, encoder, settings, log=log)
    searcher = Searcher(IndexRetriever(index), encoder)
    encoder.encode_queries([q.text for q in queries])  # batched, into the cache
    started = time.perf_counter()
    records = [ask(searcher, q) for q in queries]
    log(f"{name}: {len(records)} questions asked in {time.perf_counter() - started:.0f} s")
    index.close()
    save(records, _first_path(name))
    return _first_path(name)


def read_set(name: str, serving: Path, tag: str, log=print) -> Path:
    from models.reader import Reader

    records = load(_first_path(name))
    reader = Reader(serving)
    started = time.perf_counter()
    sentences = 0
    for n, asked in enumerate(records, start=1):
        read(reader, asked)
        sentences += sum(len(c.inputs) for c in asked.candidates)
        if n % 200 == 0:
            log(f"read {n}/{len(records)} questions ({sentences / (time.perf_counter() - started):.0f} sentences/s)")
    log(f"{name}: read {sentences} sentences of {len(records)} questions in {time.perf_counter() - started:.0f} s")
    save(records, _read_path(name, tag))
    return _read_path(name, tag)


# -- metrics ------------------------------------------------------------------------------------
def _best_read(c: Candidate) -> int:
    """The index of the best sentence among those the product reads."""
    read = sentences_to_read(c.sentences, c.highlight)
    return read[int(np.argmax([c.logits[i] for i in read]))]


def _best_sentence(c: Candidate) -> tuple[int, int]:
    return c.sentences[_best_read(c)] if c.logits else c.highlight


def _linked(c: Candidate) -> tuple[int, int]:
    """The best-read sentence with the next one when that continues it (the product's coherence rule)."""
    from retrieval.stages.coherence import linked_span

    if not c.logits:
        return c.highlight
    return linked_span(c.text, list(c.sentences), _best_read(c))


def ranked_lists(records: list[Asked], fusion: Fusion | None) -> list[list[tuple[Candidate, float]]]:
    if fusion is None:
        return [[(c, c.confidence) for c in a.candidates] for a in records]
    return [fusion.rerank(a) for a in records]


def metrics(records: list[Asked], fusion: Fusion | None, xquad: bool) -> dict[str, float]:
    """hit@1/5, MRR@10, the highlight rates, and the flagged shares, for one ordering of ``records``.

    A hit is (xquad) a passage of the gold paragraph, or (bundled, dev) a gold article's passage that holds
    a gold answer. Highlight: of the questions whose first passage is a hit, the share whose highlighted
    span holds the answer (first stage: its own highlight; fused: the best-read sentence, and with the
    sentence after it when that continues it)."""
    out: dict[str, float] = {}
    answerable = [(a, ranked) for a, ranked in zip(records, ranked_lists(records, fusion), strict=True)
                  if a.answerable]
    ranks, shown, highlighted, linked = [], 0, 0, 0
    for a, ranked in answerable:
        rank = next((r for r, (c, _) in enumerate(ranked[:K], start=1) if (c.gold if xquad else c.holds_answer)),
                    None)
        ranks.append(rank)
        if rank == 1:
            c = ranked[0][0]
            shown += 1
            first = a.candidates
            was_read = fusion is not None and not (fusion.skip_decisive and decisive(first[0].confidence,
                                                                                     [x.score for x in first]))
            span = _best_sentence(c) if was_read else c.highlight
            highlighted += contains(c.text[span[0] : span[1]], a.answers)
            span = _linked(c) if was_read else c.highlight
            linked += contains(c.text[span[0] : span[1]], a.answers)
    n = max(1, len(ranks))
    out["answerable"] = len(ranks)
    out["hit@1"] = sum(r == 1 for r in ranks if r) / n
    out["hit@5"] = sum(r <= 5 for r in ranks if r) / n
    out["mrr@10"] = sum(1 / r for r in ranks if r) / n
    out["highlight_sentence"] = highlighted / max(1, shown)
    out["highlight_linked"] = linked / max(1, shown)
    for kind in ("answerable", "near-miss", "off-topic", "removed", "impossible"):
        tops = [(ranked[0][1], fusion.threshold_for(a.lang) if fusion else 0.5)
                for a, ranked in zip(records, ranked_lists(records, fusion), strict=True) if a.kind == kind and ranked]
        if tops:
            out[f"{kind}_flagged"] = sum(p < threshold for p, threshold in tops) / len(tops)
            out[f"{kind}_n"] = len(tops)
    return out


def auc(positive: list[float], negative: list[float]) -> float:
    """P(a positive scores above a negative): ties count half."""
    if not positive or not negative:
        return float("nan")
    pos, neg = np.array(positive)[:, None], np.array(negative)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def separation(records: list[Asked], fusion: Fusion | None) -> dict[str, float]:
    """How well the top passage's probability tells answerable questions from each unanswerable kind (AUC)."""
    tops = {a.qid: ranked[0][1] for a, ranked in zip(records, ranked_lists(records, fusion), strict=True) if ranked}
    answerable = [tops[a.qid] for a in records if a.answerable and a.qid in tops]
    return {f"auc_{kind}": auc(answerable, [tops[a.qid] for a in records if a.kind == kind and a.qid in tops])
            for kind in ("near-miss", "off-topic", "removed", "impossible")
            if any(a.kind == kind for a in records)}


def report(name: str, tag: str, fusion: Fusion) -> dict:
    records = load(_read_path(name, tag))
    xquad = name == "xquad-eval"
    out = {}
    for lang in sorted({a.lang for a in records}):
        chosen = [a for a in records if a.lang == lang]
        out[lang] = {"first_stage": metrics(chosen, None, xquad) | separation(chosen, None),
                     "fused": metrics(chosen, fusion, xquad) | separation(chosen, fusion)}
    out["first_stage_ms_p50"] = round(1000 * statistics.median(a.seconds for a in records), 1)
    return out


def speed(serving: Path, sizes: tuple[int, ...] = (10, 20, 40), repeats: int = 5) -> dict:
    """Milliseconds to read N sentences of one question (the bundled set's first-stage candidates, as the
    product would read them): the median of ``repeats`` over its questions, and the machine's load."""
    import os

    from models.reader import Reader

    reader = Reader(serving)
    records = [a for a in load(_first_path("bundled")) if a.answerable]
    reader.score(records[0].question, records[0].candidates[0].inputs)  # warm-up
    out = {"cpu": _cpu_flags(), "threads": reader.threads, "load_before": os.getloadavg()[0]}
    for size in sizes:
        times = []
        for asked in records[:repeats * 4]:
            inputs = [text for c in asked.candidates for text in c.inputs][:size]
            started = time.perf_counter()
            reader.score(asked.question, inputs)
            times.append(1000 * (time.perf_counter() - started))
        out[f"ms_{size}_sentences_p50"] = round(statistics.median(times), 1)
    out["load_after"] = os.getloadavg()[0]
    return out


def _cpu_flags() -> str:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    return " ".join(f for f in ("avx2", "avx512_vnni") if f in flags)


def _fusion_file(tag: str) -> Path:
    from models.reader.recipe import FUSION_FILE, WEIGHTS_DIR

    return WEIGHTS_DIR / FUSION_FILE if tag == "final" else RUNS / f"fusion.{tag}.json"


def load_fusion(path: Path) -> Fusion:
    """The fitted fusion, measured as the product uses it (a decisive first stage is not read)."""
    data = json.loads(path.read_text())
    return Fusion(data["weights"], data["intercept"], data["threshold"], data["read"], data.get("thresholds"),
                  skip_decisive=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.measure", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=("first-stage", "read", "fit", "report", "speed"))
    p.add_argument("--set", default="dev", choices=sorted(SETS), dest="name")
    p.add_argument("--serving", type=Path, default=None, help="the reader's serving folder [models/reader/serving]")
    p.add_argument("--tag", default="final", help="names a reader's records (and its fitted fusion)")
    p.add_argument("--read", type=int, default=READ, help=f"candidates read per question (at most {TOP})")
    opts = p.parse_args(argv)
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    if opts.step == "first-stage":
        first_stage(opts.name, log)
    elif opts.step == "read":
        from models.reader.recipe import SERVING_DIR

        read_set(opts.name, opts.serving or SERVING_DIR, opts.tag, log)
    elif opts.step == "speed":
        from models.reader.recipe import SERVING_DIR

        print(json.dumps(speed(opts.serving or SERVING_DIR), indent=1))
    elif opts.step == "fit":
        records = load(_read_path("dev", opts.tag))
        fusion = fit(records, opts.read)
        fitted = {"fitted_on": "dev: held-out train articles (training.data.DEV_ARTICLES, de+en questions, the same "
                               "with their paragraph removed) and squad2's held-out paragraphs",
                  "questions": len(records), "dev": report("dev", opts.tag, fusion)}
        path = _fusion_file(opts.tag)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(fusion.to_json(fitted), indent=1) + "\n")
        print(json.dumps(fusion.to_json(fitted), indent=1))
    else:
        print(json.dumps(report(opts.name, opts.tag, load_fusion(_fusion_file(opts.tag))), indent=1))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
