"""One shard of a sharded archive, as Ray Serve runs it: an index folder behind a few plain methods.

:class:`ShardReplica` holds one :class:`store.index.Index` with an :class:`IndexRetriever`; it never
loads the model (the ingress embeds questions and written articles once and sends vectors). It
returns raw candidates (cosines, BM25 scores, passages, their vectors) so the ingress fuses all
shards' candidates in one ranking, as the single node does with one index's.

Passage ids are made global here: ``local_id * N + shard``, unique across the archive and stable
(SQLite never reuses a passage id), so an answer's ``passage_id`` names one passage of one shard.
With N = 1 they are the single node's ids.

Serve restarts a replica whose process dies; the new one reopens the folder (SQLite is the source
of truth, the vectors catch up from it), so every committed write is there again. Several replicas
of a shard share its folder as several single-node processes do (WAL, the write lock file), which
needs them on the machine whose disk holds it (see docs/scale-out.md, pinning).

BM25 is scored with the archive's statistics: the ingress first asks every shard for its own
(:meth:`ShardReplica.lexical_stats`), sums them, and sends the sum inside the query, so a shard's
BM25 scores are the ones one index of the whole archive would give (see :mod:`scaleout.router`).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from core.filters import Filters
from core.settings import Settings
from indexer.pipeline import ArticleIndexer
from retrieval.query import Query
from retrieval.retrievers import IndexRetriever
from retrieval.stages.windows import IndexWindows
from retrieval.types import Candidates
from scaleout.manifest import ManifestProblem, ModelIdentity, check, read_manifest, shard_dir
from store.bm25 import LexicalStats
from store.index import Index


def global_id(local: int, shard: int, shards: int) -> int:
    return local * shards + shard


def split_id(passage_id: int, shards: int) -> tuple[int, int]:
    """(shard, local id) of a global passage id."""
    return passage_id % shards, passage_id // shards


class ShardReplica:
    def __init__(self, root: str, shard: int, model: ModelIdentity, settings: Settings):
        root_path = Path(root)
        manifest = check(read_manifest(root_path), model, root=root_path)  # every part checks the manifest
        if not 0 <= shard < manifest.shards:
            raise ManifestProblem(f"shard {shard} does not exist in {root} ({manifest.shards} shards)")
        self.shard, self.shards = shard, manifest.shards
        # create: a shard that received no article yet is an empty index, not an error (the manifest was checked)
        self.index = Index.open(shard_dir(root_path, shard), model, create=True)
        self.retriever = IndexRetriever(self.index)
        self.windows = IndexWindows(self.index.store)
        self.indexer = ArticleIndexer(self.index, settings)

    def _gid(self, local: int) -> int:
        return global_id(local, self.shard, self.shards)

    # -- reading --------------------------------------------------------------------------
    def retrieve(self, query: Query) -> Candidates:
        """This shard's dense and BM25 candidates with raw scores, under global passage ids."""
        found = self.retriever.retrieve(query)
        g = self._gid
        return Candidates(
            dense=[(g(pid), s) for pid, s in found.dense],
            lexical=[(g(pid), s) for pid, s in found.lexical],
            cosines={g(pid): s for pid, s in found.cosines.items()},
            passages={g(pid): replace(p, id=g(pid)) for pid, p in found.passages.items()},
            vectors={g(pid): v for pid, v in found.vectors.items()},
        )

    def lexical_stats(self, terms: tuple[str, ...]) -> LexicalStats:
        """This shard's BM25 statistics for the query terms; the ingress sums them over all shards. With the
        lexical index (tantivy), per token of the terms (its idf of a phrase is the sum of its tokens')."""
        if self.index.lexical is not None:
            self.index.refresh()
            return self.index.lexical.stats(self.index.store, terms)
        return self.index.store.lexical_stats(terms)

    def widen_many(self, hits: list, link: bool = True) -> list:
        """These hits of this shard with their context windows (:mod:`retrieval.stages.windows`): one call
        for all of them."""
        return self.windows.widen(hits, link)

    def hashes(self, doc_ids: list[str]) -> dict[str, str]:
        return self.index.store.content_hashes(doc_ids)

    def document(self, doc_id: str) -> dict | None:
        document = self.index.store.document(doc_id)
        if document is not None:
            for passage in document["passages"]:
                passage["passage_id"] = self._gid(passage["passage_id"])
        return document

    def page(self, limit: int, filters: Filters | None = None) -> tuple[int, list[dict]]:
        """The number of this shard's articles (that ``filters`` allow) and its first ``limit`` in the archive's
        order (newest first)."""
        return self.index.store.page(0, limit, filters)

    def sources(self) -> list[tuple[str, int, str | None, str | None]]:
        return self.index.store.sources()

    def status(self) -> dict:
        self.index.refresh()
        documents, passages = self.index.counts()
        return {"shard": self.shard, "documents": documents, "passages": passages,
                "generation": self.index.generation, "model": self.index.model_meta()["model_name"]}

    def pid(self) -> int:
        """This replica's process id (operators and the fault tests kill it to see Serve restart it)."""
        return os.getpid()

    # -- writing --------------------------------------------------------------------------
    def commit(self, prepared: list, create_only: bool = False) -> tuple[dict[str, str], dict[str, int]]:
        """Store articles the ingress prepared (chunked, embedded): one transaction, durable on return."""
        result = self.indexer.commit(prepared, create_only=create_only)
        self.index.refresh()
        return result.status, result.passages

    def delete(self, doc_ids: list[str]) -> list[str]:
        return self.indexer.delete(doc_ids)

    def save(self) -> bool:
        return self.index.save_vectors()

    def check_health(self) -> None:
        """Serve calls this periodically; a replica whose store cannot be read is restarted."""
        self.index.store.generation()
