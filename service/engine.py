"""Everything a process needs to search and write one index, built once from the settings."""

from __future__ import annotations

from functools import cached_property

from indexer.config import Settings
from indexer.embedding import Embedder
from indexer.index import Index
from indexer.pipeline import ArticleIndexer
from service.search import Searcher


class Engine:
    def __init__(self, settings: Settings, create: bool = False, embedder: Embedder | None = None):
        self.settings = settings
        self.embedder = embedder or Embedder(settings)  # tests share one loaded model
        self.index = Index.open(settings.index_dir, self.embedder, create=create)

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(self.index)

    @cached_property
    def indexer(self) -> ArticleIndexer:
        return ArticleIndexer(self.index, self.settings)
