"""A sharded archive in one process, without Ray: the same folders, manifest, shards and router.

For tests and benchmarks (what sharding itself changes, apart from Ray), and for checking an
archive on a machine without a cluster. Builds with the single-node :class:`ArticleIndexer` per
shard, so the folders are exactly what the Ray writers produce.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.documents import Article
from core.settings import Settings
from indexer.pipeline import ArticleIndexer
from scaleout.manifest import ModelIdentity, create_or_check, read_manifest, shard_dir, shard_of
from scaleout.router import ShardedEngine, local_shards
from scaleout.shards import ShardReplica
from store.index import Index


def build_locally(root: Path, articles: Iterable[Article], shards: int, encoder, settings: Settings) -> list[int]:
    """Index ``articles`` into the archive ``root`` (created if new); returns the passages per shard."""
    manifest = create_or_check(Path(root), shards, ModelIdentity.of(encoder))
    per_shard: list[list[Article]] = [[] for _ in range(manifest.shards)]
    for article in articles:
        per_shard[shard_of(article.doc_id, manifest.shards)].append(article)
    counts = []
    for shard, items in enumerate(per_shard):
        index = Index.open(shard_dir(Path(root), shard), encoder, create=True)
        try:
            ArticleIndexer(index, settings).run(items)
            counts.append(index.counts()[1])
        finally:
            index.close()
    return counts


def open_locally(root: Path, encoder, settings: Settings) -> ShardedEngine:
    """The archive at ``root`` behind a :class:`ShardedEngine` whose shards live in this process."""
    manifest = read_manifest(Path(root))
    model = ModelIdentity.of(encoder)
    replicas = [ShardReplica(str(root), i, model, settings) for i in range(manifest.shards)]
    return ShardedEngine(settings, manifest, local_shards(replicas), encoder)
