"""`fundstelle eval`: retrieval quality on a SQuAD-format file, through the product's own search.

Every paragraph of the contexts file becomes one article (``xquad-<article>-<paragraph>``,
titled with the SQuAD article title), optionally among distractor news articles
(10kGNAD CSV, ``gnad-<row>``, titled with their lead sentence as a plain-text import
would be). The articles go through the real indexing pipeline; every question is asked
through :class:`service.search.Searcher`, the code behind /api/ask and `fundstelle ask`.

A hit is any passage of the question's paragraph-article. Each question is asked twice,
as the API would be: top 5 (the default answer: recall@1 and recall@5) and top 10
(recall@10, MRR@10). The highlight rate: for questions whose paragraph is found, how
often the highlighted sentence of its first passage (in the top-5 answer if it is there)
contains a gold answer; answers come from the contexts file, so English questions are
checked against the German answer text they point to. "ans∈passage" is the same share
for the whole passage: the ceiling for the highlight.

Built indexes are cached under ``var/eval/<key>`` (the key covers the data, the
indexing code and the model), and passage, sentence and query embeddings in
``var/eval/embeddings.sqlite3``, so repeated runs only embed what changed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.config import REPO_ROOT, Settings
from indexer.documents import Article
from indexer.embedding import Embedder
from indexer.errors import IndexProblem

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
DEFAULT_CONTEXTS = SHARED_DATA / "xquad" / "xquad.de.json"
DEFAULT_DISTRACTORS = SHARED_DATA / "10kGNAD" / "test.csv"
EVAL_ROOT = REPO_ROOT / "var" / "eval"
MARKER = "eval-index.json"
TOP = 10
KEEP_CACHED = 4  # cached eval indexes under var/eval (each data set x code version is one)
# The modules whose code decides what is indexed: a change to any of them means a new index.
BUILD_MODULES = ("chunking", "cleaning", "inputs", "lexical", "lines", "metadata", "pipeline", "store")


class EvalError(Exception):
    """A problem with the evaluation's inputs, reported as one line."""


# -- data -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    qid: str
    text: str
    doc_id: str
    answers: tuple[str, ...]  # in the language of the contexts


@dataclass
class Dataset:
    articles: list[Article]
    questions: list[Question]
    gold_docs: int
    distractors: int


def _squad(path: Path) -> list[dict]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise EvalError(f"cannot read SQuAD file {path}: {exc}") from None
    return data


def paragraph_doc_id(article: int, paragraph: int) -> str:
    return f"xquad-{article:02d}-{paragraph:02d}"


def squad_articles(contexts: list[dict], max_articles: int | None = None) -> list[Article]:
    out = []
    for a, item in enumerate(contexts[:max_articles]):
        title = item["title"].replace("_", " ")
        for p, paragraph in enumerate(item["paragraphs"]):
            out.append(Article(doc_id=paragraph_doc_id(a, p), title=title, text=paragraph["context"], source="XQuAD"))
    return out


def squad_questions(contexts: list[dict], questions: list[dict], max_articles: int | None = None) -> list[Question]:
    """Questions from ``questions`` aimed at the paragraphs of ``contexts`` (parallel files: same ids)."""
    answers: dict[str, tuple[str, tuple[str, ...]]] = {}
    for a, item in enumerate(contexts[:max_articles]):
        for p, paragraph in enumerate(item["paragraphs"]):
            for qa in paragraph["qas"]:
                texts = tuple(dict.fromkeys(x["text"] for x in qa.get("answers", []) if x["text"].strip()))
                answers[qa["id"]] = (paragraph_doc_id(a, p), texts)
    out, unknown = [], 0
    for item in questions:
        for paragraph in item["paragraphs"]:
            for qa in paragraph["qas"]:
                if qa["id"] in answers:
                    doc_id, texts = answers[qa["id"]]
                    out.append(Question(qa["id"], qa["question"].strip(), doc_id, texts))
                else:
                    unknown += 1
    if not out:
        raise EvalError("no question of --questions matches a paragraph of --contexts (ids differ)")
    return out


def lead_title(text: str) -> str:
    """What a plain-text import would take as the title: the first line, or its first sentence."""
    from indexer.metadata import detect_metadata

    return detect_metadata(text).title or text[:80]


def gnad_articles(path: Path, limit: int | None = None) -> list[Article]:
    """10kGNAD rows (``label;'text'``) as articles ``gnad-<row>``; the label becomes the source section."""
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.reader(fh, delimiter=";", quotechar="'")):
            if limit is not None and len(out) >= limit:
                break
            if len(row) < 2 or not row[1].strip():
                continue
            text = row[1].strip()
            out.append(Article(doc_id=f"gnad-{n:04d}", title=lead_title(text), text=text,
                               source=f"DER STANDARD ({row[0]})"))
    return out


def load_dataset(contexts_path: Path, questions_path: Path | None = None, distractors: Path | None = None,
                 max_articles: int | None = None, max_distractors: int | None = None,
                 limit: int | None = None) -> Dataset:
    contexts = _squad(contexts_path)
    questions = squad_questions(contexts, _squad(questions_path) if questions_path else contexts, max_articles)
    gold = squad_articles(contexts, max_articles)
    extra = gnad_articles(distractors, max_distractors) if distractors else []
    return Dataset(gold + extra, questions[:limit], len(gold), len(extra))


# -- embeddings cache -------------------------------------------------------------------
class CachingEmbedder(Embedder):
    """The configured model (shared, already loaded) with a persistent cache of its vectors.

    Indexing, queries and highlight sentences all go through it; a vector is keyed by the
    model fingerprint, the prompt and the exact text, so a cached one is what the model
    would compute again (up to batch padding noise).
    """

    def __init__(self, base: Embedder, path: Path):
        self.name, self.prompts, self.batch_size = base.name, base.prompts, base.batch_size
        self.base = base
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self.hits = self.misses = 0

    @property
    def model(self):  # type: ignore[override]
        return self.base.model

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.base.dim

    @property
    def fingerprint(self) -> str:  # type: ignore[override]
        return self.base.fingerprint

    def _key(self, prompt_name: str, text: str) -> str:
        return hashlib.sha1(f"{self.fingerprint}\0{prompt_name}\0{text}".encode()).hexdigest()

    def encode_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return self._cached(texts, "passage", lambda todo: self.base.encode_passages(todo, show_progress))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._cached(texts, "query", self.base.encode_queries)

    def _cached(self, texts: list[str], prompt_name: str, encode) -> np.ndarray:
        keys = [self._key(prompt_name, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 900):
            chunk = unique[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = encode(list(missing.values()))
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                [(k, v.tobytes()) for k, v in zip(missing, vectors, strict=True)])
            self.db.execute("COMMIT")
            found.update(zip(missing, vectors, strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(np.stack([found[k] for k in keys]), dtype=np.float32)


# -- index ------------------------------------------------------------------------------
def build_key(articles: Sequence[Article], settings: Settings, embedder: Embedder) -> str:
    """Identifies an index: the articles, the code and settings that cut and embed them, the model."""
    import importlib

    digest = hashlib.sha256()
    for name in BUILD_MODULES:
        module = importlib.import_module(f"indexer.{name}")
        digest.update(Path(module.__file__).read_bytes())
    digest.update(f"{settings.passage_target_chars}|{settings.passage_max_chars}|{embedder.fingerprint}".encode())
    for article in articles:
        digest.update(f"{article.doc_id}:{article.content_hash()}\n".encode())
    return digest.hexdigest()[:16]


def _prune(root: Path, keep: int, spare: Path) -> None:
    """Drop all but the ``keep`` most recently used cached eval indexes (only folders this tool made)."""
    made = sorted((d for d in root.glob("*") if d.is_dir() and d != spare and (d / MARKER).is_file()),
                  key=lambda d: (d / MARKER).stat().st_mtime, reverse=True)
    for old in made[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def _clear(folder: Path) -> None:
    for pattern in ("fundstelle.sqlite3*", "vectors.g*.faiss", "write.lock", MARKER):
        for path in folder.glob(pattern):
            path.unlink()


def open_index(articles: Sequence[Article], embedder: Embedder, settings: Settings, folder: Path | None,
               progress: bool = True, log=print):
    """An index of exactly ``articles`` built with the current code: reused when its key matches."""
    from indexer.index import Index
    from indexer.pipeline import ArticleIndexer

    key = build_key(articles, settings, embedder)
    if folder is None:
        folder = EVAL_ROOT / key
        _prune(EVAL_ROOT, keep=KEEP_CACHED - 1, spare=folder)
    folder = Path(folder)
    marker = folder / MARKER
    if marker.exists():
        if json.loads(marker.read_text()).get("key") == key:
            log(f"reusing index {folder}")
            marker.touch()
            return Index.open(folder, embedder), folder
        log(f"index {folder} was built from other data or code: rebuilding it")
        _clear(folder)
    elif (folder / "fundstelle.sqlite3").exists():
        raise EvalError(f"{folder} holds an index that `fundstelle eval` did not build; choose another --index-dir")
    folder.mkdir(parents=True, exist_ok=True)
    index = Index.open(folder, embedder, create=True)
    started = time.perf_counter()
    report = ArticleIndexer(index, settings).run(articles, progress=progress)
    docs, passages = index.counts()
    marker.write_text(json.dumps({"key": key, "articles": docs, "passages": passages,
                                  "seconds": round(time.perf_counter() - started, 1)}))
    log(f"indexed {docs} articles, {passages} passages in {report.seconds:.0f}s into {folder}")
    return index, folder


# -- evaluation -------------------------------------------------------------------------
@dataclass
class Outcome:
    qid: str
    rank: int | None  # 1-based rank of the first passage of the gold article in a top-10 answer
    rank5: int | None  # the same in a top-5 answer (the API's default; the sentence re-ordering is per answer)
    highlighted: bool | None  # None when the gold article is not in the top 10
    answer_in_passage: bool | None
    highlight_share: float | None = None  # highlighted characters / passage characters
    top: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _first(hits, doc_id: str) -> int | None:
    return next((rank for rank, hit in enumerate(hits, start=1) if hit.passage.doc_id == doc_id), None)


def evaluate(searcher, questions: Iterable[Question], progress: bool = False) -> list[Outcome]:
    """Ask each question as the API does: top 5 (the default answer) and top 10 (for R@10 and MRR@10)."""
    from tqdm import tqdm

    outcomes = []
    for q in tqdm(list(questions), desc=f"asking ({searcher.mode})", unit=" q", disable=not progress):
        top5 = searcher.search(q.text, 5)
        top10 = searcher.search(q.text, TOP)
        rank5, rank = _first(top5, q.doc_id), _first(top10, q.doc_id)
        highlighted = inside = share = None
        shown = top5[rank5 - 1] if rank5 else top10[rank - 1] if rank else None
        if shown is not None:
            marked = " ".join(_norm(shown.passage.text[s:e]) for s, e in shown.highlights)
            answers = [_norm(a) for a in q.answers]
            highlighted = any(a in marked for a in answers)
            inside = any(a in _norm(shown.passage.text) for a in answers)
            share = sum(e - s for s, e in shown.highlights) / max(1, len(shown.passage.text))
        outcomes.append(Outcome(q.qid, rank, rank5, highlighted, inside, share,
                                [h.passage.doc_id for h in top10]))
    return outcomes


def metrics(outcomes: Sequence[Outcome]) -> dict[str, float]:
    n = max(1, len(outcomes))
    found = [o for o in outcomes if o.rank is not None]
    return {
        "questions": len(outcomes),
        "recall@1": sum(o.rank5 == 1 for o in outcomes) / n,
        "recall@5": sum(o.rank5 is not None for o in outcomes) / n,
        "recall@10": len(found) / n,
        "mrr@10": sum(1 / o.rank for o in found) / n,
        "highlight": sum(bool(o.highlighted) for o in found) / max(1, len(found)),
        "answer_in_passage": sum(bool(o.answer_in_passage) for o in found) / max(1, len(found)),
        "highlight_share": statistics.fmean(o.highlight_share for o in found) if found else 0.0,
    }


def prefill(embedder: CachingEmbedder, index, questions: Sequence[Question], everything: bool = False,
            gold_prefix: str = "xquad-") -> None:
    """Embed in batches (fast) what asking one by one will need: the questions, and the sentences of
    the gold passages (or of all passages, for a small index), which the highlighter reads."""
    from service.highlight import sentence_inputs

    embedder.encode_queries([q.text for q in questions])
    where, args = ("", ()) if everything else (" WHERE doc_id LIKE ?", (gold_prefix + "%",))
    rows = index.store.conn.execute("SELECT id FROM passages" + where, args).fetchall()
    passages = index.store.passages([r[0] for r in rows])
    embedder.encode_passages([text for p in passages.values() for *_, text in sentence_inputs(p)])


# -- command ----------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fundstelle eval", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Retrieval quality on a SQuAD-format file: each paragraph is indexed as an article "
                    "(through the real pipeline), each question is asked through the same search as "
                    "/api/ask. Reports recall@1/5/10, MRR@10 and the highlight rate.",
    )
    p.add_argument("--contexts", type=Path, default=DEFAULT_CONTEXTS, help="SQuAD file whose paragraphs are indexed")
    p.add_argument("--questions", type=Path, default=None,
                   help="SQuAD file whose questions are asked (parallel to --contexts: same ids); "
                        "default: the questions of --contexts. E.g. xquad.en.json for English questions")
    p.add_argument("--distractors", type=Path, default=None,
                   help=f"10kGNAD-style CSV (label;'text') of distractor articles, e.g. {DEFAULT_DISTRACTORS}")
    p.add_argument("--max-distractors", type=int, default=None, help="use only the first N distractors")
    p.add_argument("--max-articles", type=int, default=None, help="use only the first N SQuAD articles")
    p.add_argument("--limit", type=int, default=None, help="ask only the first N questions")
    p.add_argument("--mode", choices=("hybrid", "fused", "dense", "lexical", "all"), default="hybrid",
                   help="hybrid is the product; fused (no sentence re-ordering), dense and lexical are "
                        "ablations; all runs the four")
    p.add_argument("--index-dir", type=Path, default=None,
                   help=f"index folder to build or reuse (default: {EVAL_ROOT}/<key of data+code+model>)")
    p.add_argument("--no-cache", action="store_true", help="do not use the embeddings cache")
    p.add_argument("--details", type=Path, default=None, help="write one JSON line per question and mode here")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    return p


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
        return _run(opts)
    except (EvalError, IndexProblem) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(opts: argparse.Namespace) -> int:
    log = (lambda *a: print(*a, file=sys.stderr)) if not opts.quiet else (lambda *a: None)
    for path in (opts.contexts, opts.questions, opts.distractors):
        if path is not None and not Path(path).is_file():
            print(f"error: no such file: {path}", file=sys.stderr)
            return 2
    data = load_dataset(opts.contexts, opts.questions, opts.distractors, opts.max_articles, opts.max_distractors,
                        opts.limit)
    settings = Settings()
    embedder: Embedder = Embedder(settings)
    if not opts.no_cache:
        embedder = CachingEmbedder(embedder, EVAL_ROOT / "embeddings.sqlite3")
    index, folder = open_index(data.articles, embedder, settings, opts.index_dir, progress=not opts.quiet, log=log)
    if isinstance(embedder, CachingEmbedder):
        prefill(embedder, index, data.questions)

    from service.search import Searcher

    modes = ("lexical", "dense", "fused", "hybrid") if opts.mode == "all" else (opts.mode,)
    results, timings = {}, {}
    details = open(opts.details, "w") if opts.details else None  # noqa: SIM115
    for mode in modes:
        searcher = Searcher(index, mode=mode)
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
        "contexts": str(opts.contexts), "questions": str(opts.questions or opts.contexts),
        "distractors": str(opts.distractors) if opts.distractors else None,
        "asked": len(data.questions), "gold_articles": data.gold_docs, "distractor_articles": data.distractors,
        "indexed_articles": docs, "passages": passages, "index_dir": str(folder),
        "seconds": {m: round(t, 1) for m, t in timings.items()}, "results": results,
    }
    if opts.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"contexts  {opts.contexts}\nquestions {opts.questions or opts.contexts} ({len(data.questions)} asked)")
        print(f"index     {docs} articles ({data.gold_docs} paragraphs + {data.distractors} distractors), "
              f"{passages} passages — {folder}")
        print(table(results))
        print("hit = a passage of the question's paragraph; R@1/R@5 from top-5 answers, R@10/MRR@10 from top-10 "
              "answers;\nhighlight = the highlighted sentence of the first such passage contains a gold answer "
              "(share of the questions found);\nans∈passage = that passage contains one (the highlight's ceiling); "
              "hl share = highlighted characters / passage characters")
    index.store.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
