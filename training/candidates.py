"""The product's first stage on a question set, and the reader's scores on its candidates, kept on disk.

A question is asked through :class:`retrieval.searcher.Searcher` (the code behind /api/ask) for its top
``TOP`` passages; each passage is recorded with its first-stage rank, score, confidence and highlight, its
sentences as the reader reads them, and whether it holds a gold answer. The reader then scores every
sentence. Fusion and calibration (:mod:`training.fusion`) and the metrics (:mod:`training.measure`) work
on these records in seconds, so a first-stage run and a reading run are paid once per question set.

Question sets:

- ``dev``: the held-out ``train`` articles (training.data.DEV_ARTICLES), German and English questions,
  over an index of all 24 ``train`` articles' German paragraphs, squad2's held-out paragraphs and 60
  klexikon articles as distractors; the same questions once more with their own paragraph taken out
  of the candidates (the fact is absent, the topic is there: unanswerable); squad2's held-out questions.
  Fusion and calibration are fitted here: never on what is measured.
- ``xquad-eval``: the XQuAD ``eval`` articles with the 10kGNAD distractors, German and English questions
  against the German paragraphs (as ``fundstelle eval``); measures only.
- ``bundled``: data/questions over data/corpus; measures only.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.documents import Article
from core.settings import Settings
from evaluation.datasets import DEFAULT_DISTRACTORS, SHARED_DATA, gnad_articles, paragraph_doc_id
from text.inputs import sentence_input

TOP = 20  # first-stage passages recorded per question
# of them read by the reader (the fusion reorders these; see training.fusion), each only its best sentence
# (models.reader.fusion.sentences_to_read; the records were read at its highlighted sentences). 2 passages: on
# the XQuAD eval set German hit@1 0.957 and English 0.884 (first stage 0.939 / 0.858; all sentences of 10
# passages: 0.971 / 0.901, at ~21 sentences a question instead of 2.4), bundled set equal to reading 10
# (training.measure report on records read at 10).
READ = 2
# The first stage whose scores the fusion was fitted on: the same on every machine (FUNDSTELLE_ENCODER=auto
# would pick by CPU), so a refit reproduces the committed fusion.json. Setting FUNDSTELLE_ENCODER overrides it.
TRAINING_ENCODER = "onnx-int8"
WORK = Path("var/reader")  # indexes and records, relative to the working directory (like var/eval)
DISTRACTOR_ARTICLES = 60  # klexikon articles in the dev index (after the ones that give training negatives)
SQUAD2_DEV_ANSWERABLE = 150  # of squad2's held-out answerable questions (all unanswerable ones are asked)


@dataclass
class Candidate:
    doc_id: str
    rank: int  # 1-based, in the first stage's order
    score: float  # the first stage's score
    confidence: float  # the first stage's confidence
    cosine: float  # of the first stage's best sentence
    text: str  # the passage as returned (context window included)
    sentences: list[tuple[int, int]]  # offsets in text
    highlight: tuple[int, int]  # the first stage's highlighted span
    inputs: list[str]  # one per sentence: what the reader reads
    gold: bool  # a passage of a gold article
    holds_answer: bool  # a gold article's passage that holds a gold answer
    answer_sentences: list[int]  # sentences that hold a gold answer (gold passages only)
    logits: list[float] | None = None  # the reader's, one per sentence


@dataclass
class Asked:
    qid: str
    lang: str
    question: str  # as searched (a follow-up with its context, see retrieval.followup)
    answers: list[str]
    kind: str  # "answerable", "removed" (its paragraph taken out), "impossible", "near-miss", "off-topic"
    seconds: float  # the first stage's time
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return self.kind == "answerable"


@dataclass(frozen=True)
class Query:
    qid: str
    lang: str
    text: str
    answers: tuple[str, ...]
    gold: frozenset[str]  # doc ids; empty: unanswerable
    kind: str
    history: tuple[str, ...] = ()
    exclude: frozenset[str] = frozenset()  # doc ids taken out of the candidates


def norm(text: str) -> str:
    return " ".join(text.casefold().split())


def contains(text: str, answers: Iterable[str]) -> bool:
    haystack = norm(text)
    return any(norm(a) and norm(a) in haystack for a in answers)


# -- indexes ------------------------------------------------------------------------------------
def training_encoder():
    """(encoder, settings) the records are made with: :data:`TRAINING_ENCODER` unless FUNDSTELLE_ENCODER names
    one, behind the embedding cache under :data:`WORK`."""
    from evaluation.cache import CachingEncoder
    from models.encoders import load_encoder

    settings = Settings()
    if settings.encoder == "auto":
        settings = settings.model_copy(update={"encoder": TRAINING_ENCODER})
    return CachingEncoder(load_encoder(settings), WORK / "embeddings.sqlite3"), settings


def _code_digest() -> str:
    """The code that decides what an index holds (cleaning, chunking, inputs, the pipeline, the store)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for folder in ("text", "store"):
        for path in sorted((root / folder).glob("*.py")):
            digest.update(path.read_bytes())
    digest.update((root / "indexer" / "pipeline.py").read_bytes())
    return digest.hexdigest()


def open_index(name: str, articles: list[Article], encoder, settings: Settings, log=print):
    """An index of ``articles`` under var/reader/indexes/<name>, built once and reused while the articles,
    the indexing code and the model stay the same."""
    from indexer.pipeline import ArticleIndexer
    from store.index import Index

    digest = hashlib.sha256(f"{encoder.fingerprint}|{settings.passage_target_chars}|"
                            f"{settings.passage_max_chars}|{settings.sentence_vectors}|{_code_digest()}".encode())
    for article in articles:
        digest.update(f"{article.doc_id}:{article.content_hash()}\n".encode())
    key = digest.hexdigest()[:16]
    folder = WORK / "indexes" / name
    marker = folder / "reader-index.json"
    if marker.is_file() and json.loads(marker.read_text()).get("key") == key:
        return Index.open(folder, encoder)
    if folder.exists():  # only this tool writes under var/reader/indexes; the lexical index is a folder
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    index = Index.open(folder, encoder, create=True)
    started = time.perf_counter()
    ArticleIndexer(index, settings).run(articles, progress=True)
    index.save_vectors()
    docs, passages = index.counts()
    marker.write_text(json.dumps({"key": key, "articles": docs, "passages": passages,
                                  "seconds": round(time.perf_counter() - started, 1)}))
    log(f"indexed {docs} articles, {passages} passages into {folder} in {time.perf_counter() - started:.0f} s")
    return index


# -- question sets ------------------------------------------------------------------------------
def _xquad_articles(indexes: list[int], lang: str = "de") -> list[Article]:
    data = json.loads((SHARED_DATA / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
    return [Article(doc_id=paragraph_doc_id(a, p), title=data[a]["title"].replace("_", " "), text=par["context"],
                    source="XQuAD") for a in indexes for p, par in enumerate(data[a]["paragraphs"])]


def xquad_queries(indexes: list[int], lang: str, kind: str = "answerable") -> list[Query]:
    """Questions in ``lang`` on the articles at ``indexes``, with the German answers (parallel files)."""
    german = json.loads((SHARED_DATA / "xquad" / "xquad.de.json").read_text(encoding="utf-8"))["data"]
    asked = json.loads((SHARED_DATA / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
    out = []
    for a in indexes:
        for p, (de_par, par) in enumerate(zip(german[a]["paragraphs"], asked[a]["paragraphs"], strict=True)):
            for de_qa, qa in zip(de_par["qas"], par["qas"], strict=True):
                doc = paragraph_doc_id(a, p)
                answers = tuple(dict.fromkeys(x["text"] for x in de_qa["answers"] if x["text"].strip()))
                if kind == "removed":
                    out.append(Query(f"{qa['id']}-removed-{lang}", lang, qa["question"], (), frozenset(), kind,
                                     exclude=frozenset({doc})))
                else:
                    out.append(Query(f"{qa['id']}-{lang}", lang, qa["question"], answers, frozenset({doc}), kind))
    return out


def _squad2_dev() -> tuple[list[Article], list[Query]]:
    from training.data import squad2_articles

    articles, answerable, impossible = [], [], []
    for source in squad2_articles("dev"):
        for n, par in enumerate(source.paragraphs):
            doc = f"squad2-{hashlib.sha1(source.key.encode()).hexdigest()[:6]}-{n:03d}"
            articles.append(Article(doc_id=doc, title=source.title, text=par.context, source="squad2"))
            for qa in par.qas:
                if qa.get("is_impossible"):
                    impossible.append(Query(qa["id"], "en", qa["question"], (), frozenset(), "impossible"))
                else:
                    answers = tuple(dict.fromkeys(x["text"] for x in qa["answers"]))
                    answerable.append(Query(qa["id"], "en", qa["question"], answers, frozenset({doc}), "answerable"))
    sampled = random.Random(7).sample(answerable, min(len(answerable), SQUAD2_DEV_ANSWERABLE))
    return articles, sampled + impossible


def _klexikon_distractors(count: int) -> list[Article]:
    from training.data import KLEXIKON_NEGATIVE_ARTICLES, klexikon_articles

    return [Article(doc_id=f"klexikon-{hashlib.sha1(item['id'].encode()).hexdigest()[:12]}", title=item["title"],
                    text=item["text"], source="klexikon")
            for item in klexikon_articles(count, skip=KLEXIKON_NEGATIVE_ARTICLES)]


def dev_set(languages: tuple[str, ...] = ("de", "en")) -> tuple[list[Article], list[Query]]:
    from training.data import read_split

    split = read_split()
    squad2_docs, squad2_queries = _squad2_dev()
    articles = _xquad_articles(split.part("train")) + squad2_docs + _klexikon_distractors(DISTRACTOR_ARTICLES)
    queries = [q for lang in languages for kind in ("answerable", "removed")
               for q in xquad_queries(split.part("dev"), lang, kind)]
    return articles, queries + squad2_queries


def xquad_eval_set(languages: tuple[str, ...] = ("de", "en"), distractors: Path = DEFAULT_DISTRACTORS):
    """The XQuAD ``eval`` articles (German paragraphs) with the 10kGNAD distractors: measuring only."""
    from training.data import read_split

    indexes = sorted(read_split().eval)
    articles = _xquad_articles(indexes) + gnad_articles(distractors)
    return articles, [q for lang in languages for q in xquad_queries(indexes, lang)]


def bundled_set(questions: Path = Path("data/questions"), corpus: Path = Path("data/corpus")):
    """The hand-written question set over the bundled corpus: measuring only."""
    from evaluation.questionset import read_question_set
    from indexer.ingest.readers import ReadError, read_articles

    articles = [a for a in read_articles([corpus]) if not isinstance(a, ReadError)]
    queries = []
    for q in read_question_set(questions):
        kind = "answerable" if q.answerable else ("off-topic" if "off-topic" in q.kinds else "near-miss")
        queries.append(Query(q.qid, q.lang, q.text, q.answers, q.doc_ids, kind, q.history))
    return articles, queries


SETS: dict[str, Callable] = {"dev": dev_set, "xquad-eval": xquad_eval_set, "bundled": bundled_set}


# -- asking and reading -------------------------------------------------------------------------
def ask(searcher, query: Query, top: int = TOP) -> Asked:
    from retrieval.followup import contextualise

    started = time.perf_counter()
    hits = searcher.search(query.text, top + len(query.exclude), history=list(query.history))
    seconds = time.perf_counter() - started
    hits = [h for h in hits if h.passage.doc_id not in query.exclude][:top]
    asked = Asked(query.qid, query.lang, contextualise(query.text, list(query.history)), list(query.answers),
                  query.kind, round(seconds, 4))
    for rank, hit in enumerate(hits, start=1):
        p = hit.passage
        spans = p.sentences or [(0, len(p.text))]
        gold = p.doc_id in query.gold
        answer_sentences = [i for i, (s, e) in enumerate(spans) if gold and contains(p.text[s:e], query.answers)]
        asked.candidates.append(Candidate(
            p.doc_id, rank, float(hit.score), float(hit.confidence), float(hit.cosine), p.text,
            [tuple(s) for s in spans], tuple(hit.highlights[0]) if hit.highlights else (0, 0),
            [sentence_input(p.title, p.text[s:e]) for s, e in spans], gold,
            gold and contains(p.text, query.answers), answer_sentences))
    return asked


UNREAD = -1e9  # the logit recorded for a sentence the product does not read


def read(reader, asked: Asked, limit: int = READ) -> None:
    """Fill the ``logits`` of the first ``limit`` candidates, of the sentences the product reads
    (models.reader.fusion.sentences_to_read), in one call as the reader stage makes it; the others get UNREAD."""
    from models.reader.fusion import sentences_to_read

    chosen = asked.candidates[:limit]
    which = [sentences_to_read(c.sentences, c.highlight) for c in chosen]
    inputs = [c.inputs[i] for c, own in zip(chosen, which, strict=True) for i in own]
    logits = reader.score(asked.question, inputs).tolist() if inputs else []
    row = 0
    for c, own in zip(chosen, which, strict=True):
        c.logits = [UNREAD] * len(c.inputs)
        for i in own:
            c.logits[i] = logits[row]
            row += 1


def save(records: list[Asked], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    tmp.replace(path)


def load(path: Path) -> list[Asked]:
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            candidates = [Candidate(**{**c, "sentences": [tuple(s) for s in c["sentences"]],
                                       "highlight": tuple(c["highlight"])}) for c in item.pop("candidates")]
            out.append(Asked(**item, candidates=candidates))
    return out
