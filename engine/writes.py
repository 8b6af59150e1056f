"""The write policy of one article, the same for a single index and a sharded archive.

1. Under a create-only write (POST), other content under an existing doc_id is a :class:`Conflict`
   (checked here before embedding, and again inside the committing transaction).
2. The same content is "unchanged": nothing is embedded or written.
3. Otherwise the article is cleaned, chunked and embedded, then committed in one transaction
   (where the doc_id's shard lives, for a sharded archive); an article with no text left after
   cleaning is :class:`Unindexable`.
"""

from __future__ import annotations

from typing import Protocol

from core.documents import Article
from core.errors import Conflict, Unindexable
from store.types import Prepared


class WriteTarget(Protocol):
    """Where an article is written: one index (:class:`engine.local.LocalEngine`) or its shard."""

    def stored_hash(self, doc_id: str) -> str | None: ...

    def stored_passages(self, doc_id: str) -> int | None:
        """How many passages the stored article has (None: it is gone meanwhile)."""
        ...

    def prepare(self, article: Article) -> Prepared: ...

    def commit(self, prepared: Prepared, create_only: bool) -> tuple[str, int]:
        """Store it in one transaction: ('added' | 'updated' | 'unchanged', passages stored)."""
        ...


def write(target: WriteTarget, article: Article, create_only: bool = False) -> tuple[str, int]:
    """('added' | 'updated' | 'unchanged', passages stored); committed when it returns."""
    digest = article.content_hash()
    stored = target.stored_hash(article.doc_id)
    if stored is not None and stored != digest and create_only:
        raise Conflict(f"doc_id {article.doc_id!r} exists with other content; use PUT to replace it")
    if stored == digest:
        passages = target.stored_passages(article.doc_id)
        if passages is not None:
            return "unchanged", passages
    prepared = target.prepare(article)
    if not prepared.passages:
        raise Unindexable(f"article {article.doc_id!r} has no text left to index after cleaning")
    return target.commit(prepared, create_only)
