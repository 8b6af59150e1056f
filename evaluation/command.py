"""`fundstelle eval`: retrieval quality on a SQuAD-format file, through the product's own search.

The articles go through the real indexing pipeline (:mod:`evaluation.indexes`); every
question is asked through :class:`retrieval.searcher.Searcher`, the code behind /api/ask and
`fundstelle ask` (:mod:`evaluation.harness`). Passage, sentence and query embeddings are cached
in ``var/eval/embeddings.sqlite3``, so repeated runs only embed what changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from core.errors import IndexProblem
from core.settings import Settings
from evaluation.cache import CachingEncoder, prefill
from evaluation.datasets import DEFAULT_CONTEXTS, DEFAULT_DISTRACTORS, EvalError, load_dataset
from evaluation.harness import evaluate, evaluate_set, metrics, set_metrics
from evaluation.indexes import EVAL_ROOT, open_index
from evaluation.questionset import DEFAULT_QUESTIONS, read_question_set
from indexer.ingest.readers import ReadError, read_articles
from models.encoders import load_encoder
from models.reader import load_reader
from retrieval.query import Mode
from retrieval.ranking import OPTIONAL
from retrieval.searcher import Searcher


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fundstelle eval", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Retrieval quality on a SQuAD-format file: each paragraph is indexed as an article "
                    "(through the real pipeline), each question is asked through the same search as "
                    "/api/ask. Reports recall@1/5/10, MRR@10 and the highlight rate.",
    )
    p.add_argument("--set", choices=("xquad", "bundled"), default="xquad", dest="dataset",
                   help="xquad: SQuAD-format contexts and questions (the options below); bundled: the hand-written "
                        "question set in --question-set over the articles in --corpus, with unanswerable questions "
                        "and follow-ups")
    p.add_argument("--question-set", type=Path, default=DEFAULT_QUESTIONS, help="folder of the bundled question set")
    p.add_argument("--corpus", type=Path, default=Path("data/corpus"), help="articles the bundled set asks about")
    p.add_argument("--contexts", type=Path, default=DEFAULT_CONTEXTS, help="SQuAD file whose paragraphs are indexed")
    p.add_argument("--questions", type=Path, default=None,
                   help="SQuAD file whose questions are asked (parallel to --contexts: same ids); "
                        "default: the questions of --contexts. E.g. xquad.en.json for English questions")
    p.add_argument("--distractors", type=Path, default=None,
                   help=f"10kGNAD-style CSV (label;'text') of distractor articles, e.g. {DEFAULT_DISTRACTORS}")
    p.add_argument("--max-distractors", type=int, default=None, help="use only the first N distractors")
    p.add_argument("--split", choices=("eval", "train", "all"), default="eval",
                   help="which SQuAD articles, by the split.json beside --contexts: eval (what quality is reported on), "
                        "train (what models are trained and tuned on), all")
    p.add_argument("--max-articles", type=int, default=None, help="use only the first N SQuAD articles (of the split)")
    p.add_argument("--limit", type=int, default=None, help="ask only the first N questions")
    p.add_argument("--mode", choices=("hybrid", "fused", "dense", "lexical", "all"), default="hybrid",
                   help="hybrid is the product; fused (no sentence re-ordering), dense and lexical are "
                        "ablations; all runs the four")
    p.add_argument("--skip", type=_stages, default=frozenset(), metavar="STAGE[,STAGE]",
                   help=f"switch ranking stages off by name to measure what each earns: {', '.join(OPTIONAL)}, "
                        "or followups (every question asked as it is)")
    p.add_argument("--index-dir", type=Path, default=None,
                   help=f"index folder to build or reuse (default: {EVAL_ROOT}/<key of data+code+model>)")
    p.add_argument("--no-cache", action="store_true", help="do not use the embeddings cache")
    p.add_argument("--details", type=Path, default=None, help="write one JSON line per question and mode here")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    return p


WITHOUT_READER = "hybrid-no-reader"  # the product's mode with the reader stage skipped (reported beside it)


def _stages(value: str) -> frozenset[str]:
    names = frozenset(n.strip() for n in value.split(",") if n.strip())
    if unknown := names - {*OPTIONAL, "followups"}:
        raise argparse.ArgumentTypeError(f"unknown stage {', '.join(sorted(unknown))}; "
                                         f"choose from {', '.join(OPTIONAL)}, followups")
    return names


def table(results: dict[str, dict[str, float]]) -> str:
    cols = ("recall@1", "recall@5", "recall@10", "mrr@10", "highlight", "answer_in_passage", "highlight_share")
    heads = ("R@1", "R@5", "R@10", "MRR@10", "highlight", "ans∈passage", "hl share")
    lines = ["mode     " + " ".join(f"{h:>11}" for h in heads)]
    for mode, m in results.items():
        lines.append(f"{mode:<8} " + " ".join(f"{m[c]:>11.3f}" for c in cols))
    return "\n".join(lines)


def main(args: list[str] | None = None) -> int:
    opts = parser().parse_args(args)
    try:
        return _run_bundled(opts) if opts.dataset == "bundled" else _run(opts)
    except (EvalError, IndexProblem) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _encoder(opts: argparse.Namespace, settings: Settings):
    encoder = load_encoder(settings)
    return encoder if opts.no_cache else CachingEncoder(encoder, EVAL_ROOT / "embeddings.sqlite3")


def _reader(opts: argparse.Namespace, settings: Settings, encoder):
    """The reading model as the settings ask (FUNDSTELLE_READER), unless --skip reader."""
    return None if "reader" in opts.skip else load_reader(settings, encoder)


def _run_bundled(opts: argparse.Namespace) -> int:
    log = (lambda *a: print(*a, file=sys.stderr)) if not opts.quiet else (lambda *a: None)
    questions = read_question_set(opts.question_set)
    articles = [a for a in read_articles([opts.corpus]) if not isinstance(a, ReadError)]
    if not articles:
        raise EvalError(f"no articles in {opts.corpus}")
    settings = Settings()
    encoder = _encoder(opts, settings)
    index, folder = open_index(articles, encoder, settings, opts.index_dir, progress=not opts.quiet, log=log)
    reader = _reader(opts, settings, encoder)
    searcher = Searcher.over(index, encoder, skip=opts.skip, reader=reader)
    started = time.perf_counter()
    outcomes = evaluate_set(searcher, questions, progress=not opts.quiet)
    seconds = time.perf_counter() - started
    results = {lang: set_metrics(outcomes, lang) for lang in ("de", "en")} | {"all": set_metrics(outcomes)}
    first_stage = None
    if reader is not None:  # the reader's gain, side by side: the same questions without the reader stage
        alone = evaluate_set(Searcher.over(index, encoder, skip=opts.skip | {"reader"}), questions,
                             progress=not opts.quiet)
        first_stage = {lang: set_metrics(alone, lang) for lang in ("de", "en")} | {"all": set_metrics(alone)}
    if opts.details:
        with open(opts.details, "w") as details:
            for o in outcomes:
                details.write(json.dumps(o.__dict__, ensure_ascii=False) + "\n")
    summary = {"question_set": str(opts.question_set), "corpus": str(opts.corpus), "asked": len(outcomes),
               "index_dir": str(folder), "seconds": round(seconds, 1), "reader": reader is not None,
               "encoder": encoder.description,  # the variant FUNDSTELLE_ENCODER gave (auto: with its bulk helper)
               "skipped_stages": sorted(opts.skip), "results": results}
    if first_stage is not None:
        summary["results_without_reader"] = first_stage
    if opts.json:
        print(json.dumps(summary, indent=2))
    else:
        cols = ("questions", "hit@1", "hit@5", "mrr@10", "highlight", "answerable_flagged", "unanswerable",
                "unanswerable_flagged")
        print(f"question set {opts.question_set} over {opts.corpus}: {len(outcomes)} questions")
        print("lang             " + " ".join(f"{c:>20}" for c in cols))
        tables = {"": results} | ({" (no reader)": first_stage} if first_stage is not None else {})
        for label, table_results in tables.items():
            for lang, m in table_results.items():
                print(f"{lang + label:<16} " + " ".join(f"{m[c]:>20.3f}" if isinstance(m[c], float) else f"{m[c]:>20}"
                                                      for c in cols))
        print("hit = a passage of the gold article holding a gold answer verbatim; highlight = its highlighted "
              "sentence holds it;\nflagged = answered with answer_found false (wanted for unanswerable questions only)")
    index.store.close()
    return 0


def _run(opts: argparse.Namespace) -> int:
    log = (lambda *a: print(*a, file=sys.stderr)) if not opts.quiet else (lambda *a: None)
    for path in (opts.contexts, opts.questions, opts.distractors):
        if path is not None and not Path(path).is_file():
            print(f"error: no such file: {path}", file=sys.stderr)
            return 2
    data = load_dataset(opts.contexts, opts.questions, opts.distractors, opts.max_articles, opts.max_distractors,
                        opts.limit, split=opts.split)
    if data.unmatched:
        log(f"warning: {len(data.unmatched)} questions match no paragraph of {opts.contexts} and are not asked "
            f"(e.g. {', '.join(data.unmatched[:3])})")
    settings = Settings()
    encoder = _encoder(opts, settings)
    index, folder = open_index(data.articles, encoder, settings, opts.index_dir, progress=not opts.quiet, log=log)
    if isinstance(encoder, CachingEncoder):
        prefill(encoder, index, [q.text for q in data.questions], doc_prefix="xquad-")
    modes = ("lexical", "dense", "fused", "hybrid") if opts.mode == "all" else (opts.mode,)
    reader = _reader(opts, settings, encoder)
    if reader is not None and "hybrid" in modes:  # the reader's gain, side by side: hybrid without it
        modes = (*modes, WITHOUT_READER)
    results, timings = {}, {}
    details = open(opts.details, "w") if opts.details else None  # noqa: SIM115
    for mode in modes:
        if mode == WITHOUT_READER:
            searcher = Searcher.over(index, encoder, mode=Mode.HYBRID, skip=opts.skip | {"reader"})
        else:
            searcher = Searcher.over(index, encoder, mode=Mode(mode), skip=opts.skip, reader=reader)
        started = time.perf_counter()
        outcomes = evaluate(searcher, data.questions, progress=not opts.quiet)
        timings[mode] = time.perf_counter() - started
        results[mode] = metrics(outcomes)
        if details:
            for o in outcomes:
                details.write(json.dumps({"mode": mode, **o.__dict__}, ensure_ascii=False) + "\n")
    if details:
        details.close()
    docs, passages = index.counts()
    summary = {
        "contexts": str(opts.contexts), "questions": str(opts.questions or opts.contexts), "split": opts.split,
        "skipped_stages": sorted(opts.skip),
        "distractors": str(opts.distractors) if opts.distractors else None,
        "asked": len(data.questions), "unmatched": len(data.unmatched), "gold_articles": data.gold_docs,
        "distractor_articles": data.distractors,
        "indexed_articles": docs, "passages": passages, "index_dir": str(folder), "encoder": encoder.description,
        "seconds": {m: round(t, 1) for m, t in timings.items()}, "results": results,
    }
    if opts.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"contexts  {opts.contexts}\nquestions {opts.questions or opts.contexts} ({len(data.questions)} asked)")
        print(f"index     {docs} articles ({data.gold_docs} paragraphs + {data.distractors} distractors), "
              f"{passages} passages — {folder}")
        print(table(results))
        print("hit = a passage of the question's paragraph; R@k: in the first k answers (which never depend on how many "
              "are asked for);\nhighlight = the highlighted sentence of the first such passage contains a gold answer "
              "(share of the questions found);\nans∈passage = that passage contains one (the highlight's ceiling); "
              "hl share = highlighted characters / passage characters")
    index.store.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
