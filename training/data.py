"""Training data for the reader: answer-sentence selection groups.

A group is one question and a handful of sentences: the sentence that holds the answer (located by
the answer's character offsets in the data) and negatives that are on the question's topic but do
not hold the fact -- the other sentences of the same paragraph and of the same article -- plus one
random sentence of another text (klexikon). Those near misses are what a passage-level relevance
score could not tell apart (see ../shared/notes/reading-model-probes.md). squad2's unanswerable
questions, written to look answerable, give groups without any positive.

Sources (all CC BY-SA; see models/reader/MODEL_CARD.md):

- XQuAD ``train`` articles (split.json): each question in all twelve languages against the German
  sentences (the product reads German articles; questions come in German and English);
- squad-it: Italian questions against Italian sentences, on the same ``train`` articles (``xquad_index``);
- squad2 (first ten SQuAD 2.0 train articles, no XQuAD article): English questions, answerable and not;
- klexikon: random German sentences as easy negatives.

The XQuAD ``eval`` articles are never read here (:func:`xquad_articles` takes ``train`` indexes
only, and the tests check every group's article against split.json). A few ``train`` articles are
held out as ``dev`` for choosing between recipes and for fitting the fusion and the calibration
(:data:`DEV_ARTICLES`); squad2 holds out every fourth paragraph for the same purpose.

Sentences are cut as the product cuts them (:func:`text.chunking.sentence_spans`: pysbd's German
rules) and read as the product builds them (:func:`text.inputs.sentence_input`: a few title words,
then the sentence).
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from evaluation.datasets import SHARED_DATA
from text.chunking import sentence_spans
from text.inputs import sentence_input

XQUAD = SHARED_DATA / "xquad"
SPLIT = XQUAD / "split.json"
SQUAD_IT = SHARED_DATA / "squad-it" / "squad_it.xquad-train-articles.json.gz"
SQUAD2 = SHARED_DATA / "squad2" / "squad2.train-first10.json.gz"
KLEXIKON = SHARED_DATA / "klexikon" / "dewiki_2898_articles.jsonl.gz"

LANGUAGES = ("de", "en", "es", "ar", "el", "hi", "ro", "ru", "th", "tr", "vi", "zh")
# Held-out ``train`` articles (indexes in the XQuAD files): recipes are compared and the fusion and the
# calibration are fitted on their questions, which the reader never trains on. Five articles, 127 questions
# per language; chosen among those with few squad-it questions, so the reader loses little training data.
DEV_ARTICLES = (12, 16, 20, 26, 30)
SQUAD2_DEV_EVERY = 4  # squad2: every 4th paragraph of an article is held out (dev)


class DataError(Exception):
    """A training data file is missing or not what it should be; the message names it."""


@dataclass(frozen=True)
class Group:
    """One question and the sentences it is read against; ``labels[i]`` is 1 when ``inputs[i]`` holds the answer."""

    question: str
    inputs: tuple[str, ...]  # as text.inputs.sentence_input builds them (title words, newline, sentence)
    labels: tuple[int, ...]
    source: str  # e.g. "xquad:en>de", "squad-it", "squad2", "squad2:impossible"
    article: str  # provenance: "xquad:<index>", "squad-it:<xquad index>", "squad2:<title>"


@dataclass(frozen=True)
class Split:
    train: dict[int, str]  # XQuAD article index -> title
    eval: dict[int, str]

    def part(self, name: str) -> list[int]:
        """Article indexes of ``fit`` (train without dev), ``dev`` or ``train`` (all of it). Never ``eval``."""
        if name == "train":
            return sorted(self.train)
        if name == "dev":
            return [i for i in DEV_ARTICLES if i in self.train]
        if name == "fit":
            return [i for i in sorted(self.train) if i not in DEV_ARTICLES]
        raise ValueError(f"unknown part {name!r}: fit, dev or train (the eval articles are not training data)")


def _read_json(path: Path):
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc} (the data sets live in ../shared/data; "
                        "FUNDSTELLE_EVAL_DATA moves them)") from None


@lru_cache(maxsize=2)
def read_split(path: Path = SPLIT) -> Split:
    data = _read_json(path)
    try:
        split = Split({a["index"]: a["title"] for a in data["train"]}, {a["index"]: a["title"] for a in data["eval"]})
    except (KeyError, TypeError) as exc:
        raise DataError(f"{path} is not XQuAD's split file ({exc})") from None
    if set(split.train) & set(split.eval):
        raise DataError(f"{path}: an article is in both train and eval")
    if not set(DEV_ARTICLES) <= set(split.train):
        raise DataError(f"{path}: the dev articles {DEV_ARTICLES} are not all train articles")
    return split


# -- paragraphs and their sentences -------------------------------------------------------------
@dataclass
class Paragraph:
    title: str
    context: str
    qas: list[dict]

    @cached_property
    def spans(self) -> list[tuple[int, int]]:
        return sentence_spans(self.context)  # when first asked: most squad paragraphs are never sampled

    @cached_property
    def inputs(self) -> list[str]:
        return [sentence_input(self.title, self.context[s:e]) for s, e in self.spans]

    def answer_location(self, answers: list[dict]) -> tuple[int, int] | None:
        """Character offsets of the first answer that can be located in the context (None: none can)."""
        for answer in answers:
            text, start = answer.get("text", ""), answer.get("answer_start", -1)
            if not text.strip():
                continue
            if self.context[start : start + len(text)] != text:
                start = self.context.find(text)  # a shifted offset: the first occurrence
                if start < 0:
                    continue
            return start, start + len(text)
        return None

    def answer_sentences(self, answers: list[dict]) -> list[int]:
        """Indexes of the sentences the first locatable answer overlaps ([] when none can be located)."""
        where = self.answer_location(answers)
        return [] if where is None else [i for i, (s, e) in enumerate(self.spans) if s < where[1] and e > where[0]]

    def without_answer(self, answers: list[dict]) -> str | None:
        """The answer's sentence with the answer cut out, read as the model reads sentences: every word of the
        topic is still there, the fact is not (a near miss made to measure). None when the answer is (nearly)
        the whole sentence or crosses a sentence boundary."""
        where = self.answer_location(answers)
        hit = self.answer_sentences(answers)
        if where is None or len(hit) != 1:
            return None
        s, e = self.spans[hit[0]]
        rest = _ANSWER_GAP.sub(" ", f"{self.context[s : where[0]]} {self.context[where[1] : e]}")
        rest = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", rest).strip()
        return sentence_input(self.title, rest) if len(rest.split()) >= 4 else None


_ANSWER_GAP = re.compile(r"\s+")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:!?)])")


@dataclass
class SourceArticle:
    key: str  # provenance, see Group.article
    title: str
    paragraphs: list[Paragraph]


def _articles(items: list[dict], keys: list[str], title_of=lambda item: item["title"]) -> list[SourceArticle]:
    out = []
    for key, item in zip(keys, items, strict=True):
        title = title_of(item).replace("_", " ")
        out.append(SourceArticle(key, title, [Paragraph(title, p["context"], p["qas"]) for p in item["paragraphs"]]))
    return out


@lru_cache(maxsize=16)
def _xquad_file(lang: str) -> list[dict]:
    if lang not in LANGUAGES:
        raise ValueError(f"XQuAD has no language {lang!r}; one of {', '.join(LANGUAGES)}")
    return _read_json(XQUAD / f"xquad.{lang}.json")["data"]


def xquad_articles(indexes: list[int], lang: str = "de") -> list[SourceArticle]:
    """The XQuAD articles at ``indexes`` in ``lang`` -- ``train`` articles only (else a ValueError)."""
    split = read_split()
    outside = [i for i in indexes if i not in split.train]
    if outside:
        raise ValueError(f"XQuAD articles {outside} are not train articles; the reader never reads eval articles")
    data = _xquad_file(lang)
    return _articles([data[i] for i in indexes], [f"xquad:{i}" for i in indexes])


def squad_it_articles(indexes: list[int]) -> list[SourceArticle]:
    """squad-it's articles among the XQuAD ``train`` articles at ``indexes``."""
    split = read_split()
    items = [a for a in _read_json(SQUAD_IT)["data"] if a.get("xquad_index") in indexes]
    if any(a["xquad_index"] not in split.train for a in items):
        raise DataError(f"{SQUAD_IT} holds an article outside XQuAD's train articles")
    return _articles(items, [f"squad-it:{a['xquad_index']}" for a in items])


def squad2_articles(part: str) -> list[SourceArticle]:
    """squad2's articles with the paragraphs of ``part``: ``fit`` (3 of 4) or ``dev`` (every 4th)."""
    if part not in ("fit", "dev"):
        raise ValueError(f"unknown squad2 part {part!r}: fit or dev")
    items = _read_json(SQUAD2)["data"]
    kept = [{**a, "paragraphs": [p for n, p in enumerate(a["paragraphs"])
                                 if (n % SQUAD2_DEV_EVERY == SQUAD2_DEV_EVERY - 1) == (part == "dev")]}
            for a in items]
    return _articles(kept, [f"squad2:{a['title']}" for a in kept])


def klexikon_articles(limit: int | None = None, skip: int = 0) -> Iterator[dict]:
    """klexikon articles ``{"id", "title", "text"}`` in file order, from the ``skip``-th on."""
    try:
        with gzip.open(KLEXIKON, "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh):
                if n < skip:
                    continue
                if limit is not None and n >= skip + limit:
                    return
                yield json.loads(line)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {KLEXIKON}: {exc}") from None


KLEXIKON_NEGATIVE_ARTICLES = 400  # the first 400 articles give random negatives (the distractors start after)


@lru_cache(maxsize=1)
def klexikon_sentences(seed: int = 0, count: int = 4000) -> tuple[str, ...]:
    """``count`` random klexikon sentences (one line of an article each), read as the product reads them."""
    rng = random.Random(seed)
    pool = []
    for item in klexikon_articles(KLEXIKON_NEGATIVE_ARTICLES):
        lines = [line.strip() for line in item["text"].split("\n") if 40 <= len(line.strip()) <= 400]
        pool.extend(sentence_input(item["title"], line) for line in rng.sample(lines, min(len(lines), 15)))
    rng.shuffle(pool)
    return tuple(pool[:count])


# -- groups -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mix:
    """How many groups of each kind, and their shape. Defaults: the committed recipe (MODEL_CARD.md)."""

    group_size: int = 5  # sentences per group
    # the answer's sentence with the answer cut out as a negative of its group (tried: see MODEL_CARD.md)
    without_answer: bool = False
    same_paragraph: int = 2  # at most this many negatives from the answer's paragraph; the rest from its article
    random_negatives: int = 1  # klexikon sentences per group
    xquad_languages: tuple[str, ...] = ("de", "en")  # every question in these languages against the German sentences
    other_languages: int = 2  # and in this many of XQuAD's other ten languages, drawn per question
    squad_it: int | None = 1200  # groups (None: all)
    squad2: int | None = 1000  # answerable groups (None: all)
    squad2_impossible: int | None = None  # unanswerable groups (None: all of the fit part)
    seed: int = 13


def _group(question: str, paragraph: Paragraph, article: SourceArticle, positives: list[int], mix: Mix,
           rng: random.Random, source: str, extra_negative: int | None = None,
           answers: list[dict] | None = None) -> Group | None:
    """A group: one positive (if any), the positive without its answer (``mix.without_answer``), near-miss
    negatives of the paragraph and the article, random ones."""
    inputs = paragraph.inputs
    same = [i for i in range(len(inputs)) if i not in positives]
    rng.shuffle(same)
    if extra_negative is not None and extra_negative in same:  # squad2: the plausible answer's sentence first
        same.remove(extra_negative)
        same.insert(0, extra_negative)
    wanted = mix.group_size - mix.random_negatives - (1 if positives else 0)
    cut = paragraph.without_answer(answers) if positives and answers and mix.without_answer else None
    negatives = [cut] if cut else []
    take = min(len(same), mix.same_paragraph if positives else wanted, wanted - len(negatives))
    negatives += [inputs[i] for i in same[:take]]
    others = [text for p in article.paragraphs if p is not paragraph for text in p.inputs]
    rng.shuffle(others)
    negatives += others[: wanted - len(negatives)]
    if len(negatives) < wanted:  # a short article: more of its own paragraph
        negatives += [inputs[i] for i in same[take : take + wanted - len(negatives)]]
    if mix.random_negatives:
        randoms = klexikon_sentences()
        negatives += [randoms[rng.randrange(len(randoms))] for _ in range(mix.random_negatives)]
    if not negatives:
        return None
    items = ([(inputs[positives[0]], 1)] if positives else []) + [(t, 0) for t in negatives]
    rng.shuffle(items)
    return Group(question.strip(), tuple(t for t, _ in items), tuple(y for _, y in items), source, article.key)


def xquad_groups(indexes: list[int], mix: Mix, rng: random.Random) -> list[Group]:
    """Each question of the articles at ``indexes`` against the German sentences: in the languages of
    ``mix.xquad_languages`` and in ``mix.other_languages`` others drawn per question."""
    german = xquad_articles(indexes, "de")
    others = [lang for lang in LANGUAGES if lang not in mix.xquad_languages]
    asked = {lang: xquad_articles(indexes, lang) if lang != "de" else german for lang in LANGUAGES}
    out = []
    for a, de_article in enumerate(german):
        for p, de_par in enumerate(de_article.paragraphs):
            for q, de_qa in enumerate(de_par.qas):
                positives = de_par.answer_sentences(de_qa["answers"])
                if not positives:
                    continue
                for lang in [*mix.xquad_languages, *rng.sample(others, min(len(others), mix.other_languages))]:
                    qa = asked[lang][a].paragraphs[p].qas[q]
                    if de_qa["id"] != qa["id"]:
                        raise DataError(f"xquad.{lang}.json is not parallel to xquad.de.json at {qa['id']}")
                    group = _group(qa["question"], de_par, de_article, positives, mix, rng, f"xquad:{lang}>de",
                                   answers=de_qa["answers"])
                    out.extend([group] if group else [])
    return out


def _squad_groups(articles: list[SourceArticle], mix: Mix, rng: random.Random, source: str,
                  impossible: bool) -> list[Group]:
    out = []
    for article in articles:
        for par in article.paragraphs:
            for qa in par.qas:
                if bool(qa.get("is_impossible")) != impossible:
                    continue
                if impossible:
                    plausible = par.answer_sentences(qa.get("plausible_answers", []))
                    group = _group(qa["question"], par, article, [], mix, rng, f"{source}:impossible",
                                   plausible[0] if plausible else None)
                else:
                    positives = par.answer_sentences(qa["answers"])
                    group = (_group(qa["question"], par, article, positives, mix, rng, source, answers=qa["answers"])
                             if positives else None)
                out.extend([group] if group else [])
    return out


def _sample(groups: list[Group], limit: int | None, rng: random.Random) -> list[Group]:
    return groups if limit is None or len(groups) <= limit else rng.sample(groups, limit)


def build_groups(mix: Mix = Mix(), part: str = "fit", max_articles: int | None = None) -> list[Group]:
    """The training groups of ``part`` (``fit``: the train articles without dev; ``dev``: the held-out ones),
    shuffled with ``mix.seed``; ``max_articles`` keeps the first XQuAD articles only (smoke runs)."""
    rng = random.Random(mix.seed)
    indexes = read_split().part(part)[:max_articles]
    groups = xquad_groups(indexes, mix, rng)
    if mix.squad_it != 0:
        groups += _sample(_squad_groups(squad_it_articles(indexes), mix, rng, "squad-it", False), mix.squad_it, rng)
    squad2 = squad2_articles("dev" if part == "dev" else "fit")
    if mix.squad2 != 0:
        groups += _sample(_squad_groups(squad2, mix, rng, "squad2", False), mix.squad2, rng)
    if mix.squad2_impossible != 0:
        groups += _sample(_squad_groups(squad2, mix, rng, "squad2", True), mix.squad2_impossible, rng)
    rng.shuffle(groups)
    return groups
