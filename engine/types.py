"""The Engine protocol: everything the HTTP routes, the CLI and the MCP tools do with an archive.

Implemented by :class:`engine.local.LocalEngine` (one index folder in this process) and by
:class:`scaleout.router.ShardedEngine` (an archive split into shards on a Ray cluster).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.documents import Article
from core.filters import Filters
from retrieval.hits import Answer
from retrieval.ordering import Sort


@dataclass(frozen=True)
class Status:
    documents: int
    passages: int
    generation: int
    model: str
    state: str = "ready"  # "ready", or "partial" while a shard of a sharded archive does not answer
    shards: list[dict] | None = None  # per shard, for a sharded archive


class Engine(Protocol):
    # -- questions
    def ask(self, question: str, top_k: int = 5, filters: Filters | None = None,
            sort: Sort = Sort.RELEVANCE, history: list[str] | None = None) -> Answer:
        """The ``top_k`` passages that answer ``question`` best (``filters`` act inside both retrievers,
        ``sort`` orders them, ``history``: earlier questions of the conversation, most recent last)."""
        ...

    def sources(self) -> list[dict]:
        """Outlets with their article counts and date ranges, most articles first."""
        ...

    # -- reading
    def documents(self, offset: int, limit: int, filters: Filters | None = None) -> tuple[int, list[dict]]:
        """The number of articles (that ``filters`` allow: outlets, period, doc_ids) and one page of their
        metadata, newest first."""
        ...

    def document(self, doc_id: str) -> dict | None: ...

    def status(self) -> Status: ...

    # -- writing
    def write(self, article: Article, create_only: bool = False) -> tuple[str, int]:
        """('added' | 'updated' | 'unchanged', passages stored); durable and searchable on return
        (:func:`engine.writes.write`)."""
        ...

    def delete(self, doc_ids: list[str]) -> list[str]:
        """The doc_ids that existed and are gone now."""
        ...

    # -- lifecycle
    def warm(self) -> None:
        """Load what the first question would otherwise wait for (the model)."""
        ...

    def save(self) -> None: ...

    def close(self) -> None: ...
