"""The indexing pipeline: articles in, committed batches out.

For each batch (``settings.index_batch_articles`` articles): skip articles whose content
hash is already stored, clean, chunk and embed the rest (outside any lock: that is the
slow part), then replace them in one SQLite transaction under the index's write lock.
A crash (even SIGKILL) loses at most the batch in flight; everything committed before
stays complete and loadable, and a re-run skips it. At the end the FAISS cache is saved
(atomically); if that is cut short, the next start rebuilds the vectors from SQLite.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from tqdm import tqdm

from core.documents import Article, Passage
from core.settings import Settings
from indexer.ingest.readers import ReadError, ReadWarning
from models.encoders import passage_spans
from store.index import Index
from store.types import Prepared, UpsertResult
from text.chunking import chunk
from text.cleaning import clean
from text.inputs import embedding_input, lexical_input, sentence_input

# How sentence vectors are made at index time (Settings.sentence_vectors): "separate" embeds each sentence as
# the highlighter reads it (a second, shorter pass: about 1.9x the passages' time in all); "late" pools the
# passage's own token vectors (no second pass) but picks the answering sentence less often. ("pooled", the
# sentences only with each passage vector their mean, is not offered: dense retrieval lost 0.054 R@1 on XQuAD
# German; BENCHMARKS.md, "Sentence vectors".)
SENTENCE_METHOD = "separate"


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)  # inputs not indexed, each with its reason
    warnings: list[ReadWarning] = field(default_factory=list)  # indexed, with something to know (an encoding)
    passages: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)

    @property
    def indexed(self) -> int:
        """Articles that are in the index as given: added, updated or unchanged."""
        return len(self.added) + len(self.updated) + len(self.unchanged)

    @property
    def outcome(self) -> str:
        """"complete" (everything given is indexed), "partial" (some inputs failed, the rest is
        indexed) or "nothing" (nothing is indexed): what `fundstelle index` exits with (0, 2, 1)."""
        if not self.indexed:
            return "nothing"
        return "partial" if self.errors else "complete"


def _batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def passages_of(article: Article, settings: Settings) -> list[Passage]:
    """The passages the index keeps of an article (cleaning and chunking; no embedding)."""
    spans = clean(article.text, article.title)
    return chunk(article.doc_id, article.text, spans, settings.passage_target_chars, settings.passage_max_chars)


def unembedded(article: Article, settings: Settings) -> tuple[list[Passage], list[str], list[list[str]]]:
    """An article's index entry without its vectors: passages, what the model reads for each, BM25 terms.
    (The sharded indexer cleans and chunks in one place and embeds in another; see scaleout.ingest.)"""
    passages = passages_of(article, settings)
    return (passages, [embedding_input(article.title, p.heading, p.text) for p in passages],
            [lexical_input(article.title, p.heading, p.text) for p in passages])


def embed_parts(encoder, articles: list[Article], parts: list[tuple[list[Passage], list[str], list[list[str]]]],
                sentence_vectors: str = SENTENCE_METHOD) -> list[Prepared]:
    """Embed what :func:`unembedded` left out, all passages of ``articles`` in one call: the passage
    vectors and one vector per sentence (for the highlight, so a question never waits for sentences to be
    embedded), each sentence embedded on its own or, with ``sentence_vectors="late"``, pooled from its
    passage's forward pass."""
    passages = [p for ps, _, _ in parts for p in ps]
    inputs = [text for _, texts, _ in parts for text in texts]
    spans = [passage_spans(text, p.text, p.sentences) for p, text in zip(passages, inputs, strict=True)]
    titles = [article.title for article, (own, _, _) in zip(articles, parts, strict=True) for _ in own]
    sentence_texts = [[sentence_input(title, p.text[s:e]) for s, e in p.sentences or [(0, len(p.text))]]
                      for p, title in zip(passages, titles, strict=True)]
    vectors, sentences = encoder.encode_passages_with_sentences(inputs, spans, method=sentence_vectors,
                                                                sentence_texts=sentence_texts)
    prepared, row = [], 0
    for article, (own, _, terms) in zip(articles, parts, strict=True):
        prepared.append(Prepared(article=article, passages=own, vectors=vectors[row : row + len(own)],
                                 terms=terms, sentence_vectors=sentences[row : row + len(own)]))
        row += len(own)
    return prepared


class ArticleIndexer:
    """Adds, replaces and deletes articles in an :class:`Index`."""

    def __init__(self, index: Index, settings: Settings, batch_articles: int | None = None,
                 lock_timeout: float = 120):
        self.index = index
        self.settings = settings
        self.batch_articles = batch_articles or settings.index_batch_articles
        self.lock_timeout = lock_timeout

    def passages_of(self, article: Article) -> list[Passage]:
        return passages_of(article, self.settings)

    def prepare(self, articles: list[Article]) -> list[Prepared]:
        return embed_parts(self.index.embedder, articles, [unembedded(a, self.settings) for a in articles],
                           self.settings.sentence_vectors)

    def _commit(self, prepared: list[Prepared], create_only: bool = False) -> UpsertResult:
        """One SQLite transaction under the cross-process write lock."""
        with self.index.write_lock(self.lock_timeout):
            return self.index.store.upsert(prepared, meta=self.index.model_meta(), create_only=create_only)

    def commit(self, prepared: list[Prepared], create_only: bool = False) -> UpsertResult:
        """Store articles prepared elsewhere (the sharded writers): one transaction, as :meth:`run` does."""
        return self._commit(prepared, create_only=create_only)

    def run(self, items: Iterable[Article | ReadError], progress: bool = False, save: bool = True) -> IndexReport:
        """Upsert articles by doc_id, one transaction per batch; unchanged articles are not embedded.

        Articles are read lazily, so a crash loses at most the batch in flight and a re-run
        skips everything committed before (same content hash).
        """
        report, started = IndexReport(), time.perf_counter()
        bar = tqdm(desc="indexing", unit=" articles", disable=not progress)
        for batch in _batched(items, self.batch_articles):
            report.errors.extend(item for item in batch if isinstance(item, ReadError))
            report.warnings.extend(ReadWarning(a.origin or a.doc_id, note)
                                   for a in batch if isinstance(a, Article) for note in a.warnings)
            # The last version of an id in a batch wins: the readers refuse two inputs that share a doc_id,
            # so only a caller handing over versions of one article (the watcher, a script) gets here.
            latest = {a.doc_id: a for a in batch if isinstance(a, Article)}
            stored = self.index.store.content_hashes(list(latest))
            todo = [a for a in latest.values() if stored.get(a.doc_id) != a.content_hash()]
            report.unchanged.extend(d for d in latest if stored.get(d) == latest[d].content_hash())
            prepared = []
            for item in self.prepare(todo) if todo else []:
                if item.passages:
                    prepared.append(item)
                else:
                    report.errors.append(ReadError(item.article.origin or item.article.doc_id,
                                                   "no text left to index after cleaning"))
            if prepared:
                result = self._commit(prepared)  # hashes are checked again inside the transaction
                for doc_id, state in result.status.items():
                    getattr(report, state).append(doc_id)
                    if state != "unchanged":
                        report.passages += result.passages[doc_id]
            bar.update(len(batch))
        bar.close()
        if save:
            self.index.save_vectors()  # best effort: without it the next start rebuilds from SQLite
        report.seconds = time.perf_counter() - started
        return report

    def delete(self, doc_ids: list[str]) -> list[str]:
        """Delete articles in one transaction; returns the doc_ids that existed."""
        with self.index.write_lock(self.lock_timeout):
            deleted, _ = self.index.store.delete(doc_ids)
        self.index.refresh()
        return deleted
