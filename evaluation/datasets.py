"""Evaluation data: SQuAD-format questions over their paragraphs, and news distractors.

Every paragraph of the contexts file becomes one article (``xquad-<article>-<paragraph>``,
titled with the SQuAD article title), optionally among distractor news articles
(10kGNAD CSV, ``gnad-<row>``, titled with their lead sentence as a plain-text import
would be). A hit is any passage of the question's paragraph-article.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.documents import Article

# The public data sets beside the project (see ../shared/data/README.md); FUNDSTELLE_EVAL_DATA moves them.
SHARED_DATA = Path(os.environ.get("FUNDSTELLE_EVAL_DATA", "../shared/data"))
DEFAULT_CONTEXTS = SHARED_DATA / "xquad" / "xquad.de.json"
DEFAULT_DISTRACTORS = SHARED_DATA / "10kGNAD" / "test.csv"


class EvalError(Exception):
    """A problem with the evaluation's inputs, reported as one line."""


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
    unmatched: list[str] = field(default_factory=list)  # ids of questions that match no paragraph


def _squad(path: Path) -> list[dict]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise EvalError(f"cannot read SQuAD file {path}: {exc}") from None
    return data


def paragraph_doc_id(article: int, paragraph: int) -> str:
    return f"xquad-{article:02d}-{paragraph:02d}"


def split_articles(contexts_path: Path, split: str) -> set[int] | None:
    """The article indexes of ``split`` ("train" or "eval") from the split.json beside the contexts file
    (XQuAD: train on "train" only, report on "eval"); None for "all"."""
    if split == "all":
        return None
    path = Path(contexts_path).parent / "split.json"
    try:
        chosen = json.loads(path.read_text(encoding="utf-8"))[split]
    except (OSError, ValueError, KeyError) as exc:
        raise EvalError(f"--split {split} needs {path} with a {split!r} list ({exc}); use --split all") from None
    return {int(entry["index"]) for entry in chosen}


def chosen_articles(contexts: list[dict], articles: set[int] | None, max_articles: int | None) -> list[int]:
    """Indexes of the articles to use: those of the split (all if None), the first ``max_articles`` of them."""
    return [a for a in range(len(contexts)) if articles is None or a in articles][:max_articles]


def squad_articles(contexts: list[dict], max_articles: int | None = None,
                   articles: set[int] | None = None) -> list[Article]:
    out = []
    for a in chosen_articles(contexts, articles, max_articles):
        item = contexts[a]
        title = item["title"].replace("_", " ")
        for p, paragraph in enumerate(item["paragraphs"]):
            out.append(Article(doc_id=paragraph_doc_id(a, p), title=title, text=paragraph["context"], source="XQuAD"))
    return out


def squad_questions(contexts: list[dict], questions: list[dict], max_articles: int | None = None,
                    articles: set[int] | None = None) -> tuple[list[Question], list[str]]:
    """Questions from ``questions`` aimed at the paragraphs of ``contexts`` (parallel files: same ids),
    and the ids of those that match no paragraph of ``contexts`` at all (reported, not dropped in silence).
    With ``max_articles``, questions on later articles are left out on purpose."""
    answers: dict[str, tuple[str, tuple[str, ...]]] = {}
    selected = {paragraph_doc_id(a, p) for a in chosen_articles(contexts, articles, max_articles)
                for p in range(len(contexts[a]["paragraphs"]))}
    for a, item in enumerate(contexts):
        for p, paragraph in enumerate(item["paragraphs"]):
            for qa in paragraph["qas"]:
                texts = tuple(dict.fromkeys(x["text"] for x in qa.get("answers", []) if x["text"].strip()))
                answers[qa["id"]] = (paragraph_doc_id(a, p), texts)
    out, unmatched = [], []
    for item in questions:
        for paragraph in item["paragraphs"]:
            for qa in paragraph["qas"]:
                if qa["id"] not in answers:
                    unmatched.append(qa["id"])
                    continue
                doc_id, texts = answers[qa["id"]]
                if doc_id in selected:
                    out.append(Question(qa["id"], qa["question"].strip(), doc_id, texts))
    if not out:
        raise EvalError("no question of --questions matches a paragraph of --contexts (ids differ)")
    return out, unmatched


def lead_title(text: str) -> str:
    """What a plain-text import would take as the title: the first line, or its first sentence."""
    from text.metadata import detect_metadata

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
                 limit: int | None = None, split: str = "all") -> Dataset:
    contexts = _squad(contexts_path)
    articles = split_articles(contexts_path, split)
    questions, unmatched = squad_questions(contexts, _squad(questions_path) if questions_path else contexts,
                                           max_articles, articles)
    gold = squad_articles(contexts, max_articles, articles)
    extra = gnad_articles(distractors, max_distractors) if distractors else []
    return Dataset(gold + extra, questions[:limit], len(gold), len(extra), unmatched)
