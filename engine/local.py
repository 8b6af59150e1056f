"""One index folder, opened once per process: ask, read, write, delete, status (an :class:`engine.types.Engine`)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

from core.documents import Article
from core.filters import Filters, merge_sources
from core.settings import Settings
from engine import writes
from engine.types import Status
from indexer.ingest.readers import ReadError
from indexer.pipeline import ArticleIndexer, IndexReport
from models.encoders import load_encoder
from models.reader import Reader, load_reader
from models.types import Encoder
from retrieval.hits import Answer
from retrieval.ordering import Sort, order
from retrieval.searcher import Searcher
from store.index import Index
from store.types import Prepared
from store.vectors import set_search_threads


class LocalEngine:
    def __init__(self, settings: Settings, create: bool = False, encoder: Encoder | None = None):
        self.settings = settings
        set_search_threads(settings.search_threads)  # the engine answers questions (serve, ask)
        # tests share one loaded model; "auto" answers an existing index with the variant that built it
        self.encoder = encoder or load_encoder(settings, built_with=Index.recorded_fingerprint(settings.index_dir))
        self.index = Index.open(settings.index_dir, self.encoder, create=create)
        self.indexer = ArticleIndexer(self.index, settings)

    # The reader and the search load on the first question (or warm()): list, delete and index need neither.
    @cached_property
    def reader(self) -> Reader | None:
        return load_reader(self.settings, self.encoder)  # None with FUNDSTELLE_READER=off

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher.over(self.index, self.encoder, reader=self.reader)

    # -- questions ------------------------------------------------------------------------
    def ask(self, question: str, top_k: int = 5, filters: Filters | None = None,
            sort: Sort = Sort.RELEVANCE, history: list[str] | None = None) -> Answer:
        """The top_k passages; ``filters`` narrow the pool inside both retrievers, ``sort`` orders them,
        ``history`` (earlier questions, most recent last) gives an elliptic follow-up its context."""
        return order(self.searcher.ask(question, top_k, history, filters), sort)

    def sources(self) -> list[dict]:
        """Outlets with their article counts and date ranges, most articles first (see Store.sources).

        Spellings that differ only in case are one outlet (filters match them case-insensitively);
        it is listed under its most frequent spelling. Articles without a source are not listed.
        """
        return merge_sources(self.index.store.sources())

    # -- reading ----------------------------------------------------------------------------
    def documents(self, offset: int, limit: int, filters: Filters | None = None) -> tuple[int, list[dict]]:
        """The number of articles (that ``filters`` allow) and one page of their metadata, newest first."""
        return self.index.store.page(offset, limit, filters)

    def document(self, doc_id: str) -> dict | None:
        return self.index.store.document(doc_id)

    def content_hashes(self, doc_ids: list[str]) -> dict[str, str]:
        """{doc_id: content hash} of the stored ones among ``doc_ids`` (what `watch` asks before fetching)."""
        return self.index.store.content_hashes(doc_ids)

    def status(self) -> Status:
        self.index.refresh()
        documents, passages = self.index.counts()
        return Status(documents, passages, self.index.generation, self.index.model_meta()["model_name"])

    # -- writing ----------------------------------------------------------------------------
    def write(self, article: Article, create_only: bool = False) -> tuple[str, int]:
        """('added' | 'updated' | 'unchanged', passages stored); committed and searchable on return."""
        return writes.write(self, article, create_only)

    def delete(self, doc_ids: list[str]) -> list[str]:
        """The doc_ids that existed and are gone now."""
        return self.indexer.delete(doc_ids)

    def index_articles(self, items: Iterable[Article | ReadError], progress: bool = False) -> IndexReport:
        """Upsert many articles, one transaction per batch (the `fundstelle index` path)."""
        return self.indexer.run(items, progress=progress)

    # the write target of engine.writes: this index
    def stored_hash(self, doc_id: str) -> str | None:
        return self.index.store.content_hashes([doc_id]).get(doc_id)

    def stored_passages(self, doc_id: str) -> int | None:
        document = self.index.store.document(doc_id)
        return None if document is None else len(document["passages"])

    def prepare(self, article: Article) -> Prepared:
        return self.indexer.prepare([article])[0]

    def commit(self, prepared: Prepared, create_only: bool) -> tuple[str, int]:
        result = self.indexer.commit([prepared], create_only=create_only)  # hashes checked again inside
        self.index.refresh()
        doc_id = prepared.article.doc_id
        return result.status[doc_id], result.passages[doc_id]

    # -- lifecycle --------------------------------------------------------------------------
    def warm(self) -> None:
        """Load what the first question would otherwise wait for (the model, the reader)."""
        self.encoder.encode_queries(["warm-up"])
        _ = self.searcher

    def save(self) -> None:
        self.index.save_vectors()

    def close(self) -> None:
        self.index.close()
