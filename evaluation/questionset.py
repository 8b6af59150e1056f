"""The hand-written question set over the bundled articles (``data/questions``): questions people
ask, many paraphrased, some follow-ups that need the conversation, and questions the articles
cannot answer. A hit is a passage of the gold article (or one it names in ``also_in``) that
contains a gold answer string verbatim."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.datasets import EvalError

DEFAULT_QUESTIONS = Path("data/questions")


@dataclass(frozen=True)
class SetQuestion:
    qid: str
    lang: str
    text: str
    answers: tuple[str, ...]  # empty: the articles cannot answer it
    doc_ids: frozenset[str]  # the gold article and those with the same answer
    kinds: tuple[str, ...]
    history: tuple[str, ...] = field(default_factory=tuple)

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def read_question_set(folder: Path = DEFAULT_QUESTIONS) -> list[SetQuestion]:
    out = []
    for name in ("bundled.jsonl", "unanswerable.jsonl"):
        path = Path(folder) / name
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise EvalError(f"cannot read the question set {path}: {exc}") from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                docs = ([item["doc_id"]] if item.get("doc_id") else []) + list(item.get("also_in", []))
                out.append(SetQuestion(item["id"], item["lang"], item["question"], tuple(item["answers"]),
                                       frozenset(docs), tuple(item.get("kinds", [])), tuple(item.get("history", []))))
            except (ValueError, KeyError, TypeError) as exc:
                raise EvalError(f"{path}:{number}: not a question line ({exc})") from None
    return out
