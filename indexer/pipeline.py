"""The indexing pipeline: articles in, committed batches out.

For each batch: skip articles whose content hash is already stored, clean, chunk and
embed the rest (outside any lock: that is the slow part), then replace them in one
SQLite transaction under the index's write lock. A crash loses at most the batch in
flight; everything committed before stays complete and loadable.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from tqdm import tqdm

from indexer.chunking import chunk
from indexer.cleaning import clean
from indexer.config import Settings
from indexer.documents import Article, Passage
from indexer.index import Index
from indexer.inputs import embedding_input, lexical_input
from indexer.readers import ReadError
from indexer.store import Prepared


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)
    passages: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)


def _batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class ArticleIndexer:
    """Adds, replaces and deletes articles in an :class:`Index`."""

    def __init__(self, index: Index, settings: Settings, batch_articles: int = 64):
        self.index = index
        self.settings = settings
        self.batch_articles = batch_articles

    def passages_of(self, article: Article) -> list[Passage]:
        spans = clean(article.text, article.title)
        return chunk(article.doc_id, article.text, spans, self.settings.passage_target_chars,
                     self.settings.passage_max_chars)

    def prepare(self, articles: list[Article]) -> list[Prepared]:
        per_article = [self.passages_of(a) for a in articles]
        inputs = [embedding_input(a.title, p.heading, p.text) for a, ps in zip(articles, per_article) for p in ps]
        vectors = self.index.embedder.encode_passages(inputs)
        prepared, row = [], 0
        for article, passages in zip(articles, per_article, strict=True):
            prepared.append(Prepared(
                article=article, passages=passages, vectors=vectors[row : row + len(passages)],
                terms=[lexical_input(article.title, p.heading, p.text) for p in passages],
            ))
            row += len(passages)
        return prepared

    def run(self, items: Iterable[Article | ReadError], progress: bool = False, save: bool = True) -> IndexReport:
        report, started = IndexReport(), time.perf_counter()
        bar = tqdm(desc="indexing", unit=" articles", disable=not progress)
        for batch in _batched(items, self.batch_articles):
            report.errors.extend(item for item in batch if isinstance(item, ReadError))
            latest = {a.doc_id: a for a in batch if isinstance(a, Article)}  # last one of an id wins
            stored = self.index.store.content_hashes(list(latest))
            todo = [a for a in latest.values() if stored.get(a.doc_id) != a.content_hash()]
            report.unchanged.extend(d for d in latest if stored.get(d) == latest[d].content_hash())
            if todo:
                prepared = self.prepare(todo)
                with self.index.write_lock():
                    self.index.store.upsert(prepared, meta=self.index.model_meta())
                for item in prepared:
                    (report.updated if item.article.doc_id in stored else report.added).append(item.article.doc_id)
                    report.passages += len(item.passages)
            bar.update(len(batch))
        bar.close()
        if report.changed and save:
            self.index.save_vectors()
        report.seconds = time.perf_counter() - started
        return report

    def upsert(self, article: Article) -> str:
        """One article, for the write API: 'added', 'updated' or 'unchanged'."""
        report = self.run([article], save=False)
        self.index.refresh()
        return "added" if report.added else "updated" if report.updated else "unchanged"

    def delete(self, doc_ids: list[str]) -> list[str]:
        with self.index.write_lock():
            deleted, _ = self.index.store.delete(doc_ids)
        self.index.refresh()
        return deleted
