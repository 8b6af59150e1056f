"""`fundstelle index --ray`: build a sharded archive with Ray Data.

The stages, each where its work belongs:

1. **read** (Ray Data tasks): the driver plans the inputs as `fundstelle index` does
   (:func:`indexer.ingest.sources.plan`: folders recursively, doc_ids from the paths below the folder given,
   unsupported files reported, inputs that would share a doc_id refused before anything is read); each file
   is read in a task by the single-node readers.
2. **clean + chunk** (tasks): each article's shard is ``sha1(doc_id) mod N`` (:mod:`scaleout.manifest`);
   the shard's writer says which articles are stored with the same content hash already; those are
   skipped before embedding (a re-run embeds nothing it has), the rest are cleaned and chunked by the
   single-node code (:func:`indexer.pipeline.unembedded`).
3. **embed** (an actor pool, batched): the same encoder as the single node
   (:func:`models.encoders.load_encoder`), loaded once per actor.
4. **write** (one actor per shard): the driver takes the embedded batches in input order and hands each
   article to the writer actor of its shard, which commits it through the single-node
   :class:`indexer.pipeline.ArticleIndexer` (one SQLite transaction per batch under the shard's write
   lock, content hashes checked again inside it). Calls to one actor run in the order they were made,
   so a doc_id that appears twice ends as its last version, as on a single node.

Crash safety is the single node's: a commit is durable when the writer answers; a killed run loses
at most the batches in flight, and a re-run skips everything committed (same content hash).
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.documents import Article
from core.errors import IndexProblem
from core.settings import Settings
from indexer.ingest.errors import ReadWarning
from indexer.ingest.readers import ReadError, read_file
from indexer.ingest.sources import FileInput, UrlInput, claims_of, plan
from indexer.pipeline import IndexReport
from scaleout.cluster import import_ray
from scaleout.manifest import (
    Manifest,
    ModelIdentity,
    check,
    create_or_check,
    read_manifest,
    recorded_fingerprint,
    shard_dir,
)

READ_CPUS = 0.25  # reading and chunking are light; fractional CPUs keep 2-core machines moving
WRITER_CPUS = 0.25
EMBED_CPUS = 0.5  # per embedding actor (Ray Data waits forever for whole CPUs on a busy 2-core machine)


@dataclass
class ShardedReport(IndexReport):
    shards: list[tuple[int, int]] = field(default_factory=list)  # (articles, passages) per shard, after the run


def shard_resources(shard: int, pin: bool) -> dict[str, float]:
    """With ``pin``, shard ``i``'s actors run only on a node started with ``--resources='{"fundstelle-shard-i": 1}'``
    (the node whose disk holds the shard folder: SQLite's WAL needs all its processes on one machine)."""
    return {f"fundstelle-shard-{shard}": 0.001} if pin else {}


class ShardWriter:
    """Owns one shard folder during a run: hash look-ups before embedding, commits after it."""

    def __init__(self, root: str, shard: int, model: ModelIdentity, settings: Settings, shards: int):
        from indexer.pipeline import ArticleIndexer
        from store.index import Index

        check(read_manifest(Path(root)), model, shards, Path(root))  # every part checks the manifest
        self.index = Index.open(shard_dir(Path(root), shard), model, create=True)
        self.indexer = ArticleIndexer(self.index, settings)

    def ready(self) -> bool:
        return True

    def hashes(self, doc_ids: list[str]) -> dict[str, str]:
        return self.index.store.content_hashes(doc_ids)

    def commit(self, prepared: list) -> tuple[dict[str, str], dict[str, int]]:
        result = self.indexer.commit(prepared)
        return result.status, result.passages

    def finish(self) -> tuple[int, int]:
        """Write the vector cache (best effort, as the single node does) and count the shard."""
        self.index.save_vectors()
        return self.index.counts()


# -- Ray Data stages (rows carry one pickled item each: Arrow need not know our dataclasses) ---------

def _read(row: dict, refused: dict[str, str]) -> list[dict]:
    found = read_file(Path(row["path"]), doc_id=row["doc_id"] or None, refused=refused)
    return [{"item": pickle.dumps(item)} for item in found]


def _chunk(batch: dict, settings: Settings, shards: int, writers: list) -> dict:
    """Shard, skip what is stored unchanged, clean and chunk (no model: a plain task)."""
    import ray

    from indexer.pipeline import unembedded
    from scaleout.manifest import shard_of

    items = [pickle.loads(b) for b in batch["item"]]
    wanted: dict[int, list[str]] = {}
    for item in items:
        if isinstance(item, Article):
            wanted.setdefault(shard_of(item.doc_id, shards), []).append(item.doc_id)
    calls = {s: writers[s].hashes.remote(ids) for s, ids in wanted.items()}
    stored = {s: ray.get(ref) for s, ref in calls.items()}
    out = []
    for item in items:
        if isinstance(item, ReadError):
            out.append(("error", item.origin, item.reason))
            continue
        out.extend(("warning", item.origin or item.doc_id, note) for note in item.warnings)
        shard = shard_of(item.doc_id, shards)
        if stored[shard].get(item.doc_id) == item.content_hash():
            out.append(("unchanged", shard, item.doc_id))
            continue
        parts = unembedded(item, settings)
        if not parts[0]:
            out.append(("error", item.origin or item.doc_id, "no text left to index after cleaning"))
        else:
            out.append(("chunked", shard, item, parts))
    return {"item": [pickle.dumps(x) for x in out]}


class _Embedder:
    """One model per actor, loaded once; embeds the passages of a whole batch in one call."""

    def __init__(self, settings: Settings, built_with: str):
        from models.encoders import load_encoder

        self.encoder = load_encoder(settings, built_with)  # the archive's variant (auto: bulk by this CPU)
        self.sentence_vectors = settings.sentence_vectors

    def __call__(self, batch: dict) -> dict:
        from indexer.pipeline import embed_parts

        items = [pickle.loads(b) for b in batch["item"]]
        todo = [x for x in items if x[0] == "chunked"]
        prepared = iter(embed_parts(self.encoder, [x[2] for x in todo], [x[3] for x in todo], self.sentence_vectors)
                        if todo else [])
        out = [("prepared", x[1], next(prepared)) if x[0] == "chunked" else x for x in items]
        return {"item": [pickle.dumps(x) for x in out]}


def _cause(exc: BaseException) -> BaseException:
    """The exception raised inside an actor or task, not Ray's wrapper around it."""
    seen = exc
    for attr in ("cause", "__cause__"):
        inner = getattr(seen, attr, None)
        if isinstance(inner, BaseException):
            seen = inner
    return seen


def index_sharded(root: Path, inputs: Iterable[Path], shards: int, settings: Settings, embedders: int = 1,
                  pin_shards: bool = False, progress: bool = False, in_flight: int = 4) -> ShardedReport:
    """Index ``inputs`` into the sharded archive ``root`` (created with ``shards`` shards if new).

    Needs a connected Ray (:func:`scaleout.cluster.connect`). ``embedders``: size of the embedding actor
    pool. ``in_flight``: commits per shard that may wait for their writer (bounds the driver's memory).
    """
    ray = import_ray()
    from models.encoders import load_encoder

    started = time.perf_counter()
    root = Path(root).resolve()
    model = ModelIdentity.of(load_encoder(settings, built_with=recorded_fingerprint(root)))
    manifest: Manifest = create_or_check(root, shards, model)
    report = ShardedReport()
    planned = list(plan(inputs))
    claims = claims_of(planned)
    files: list[dict] = []
    for item in planned:
        if isinstance(item, ReadError):
            report.errors.append(item)
        elif isinstance(item, UrlInput):
            report.errors.append(ReadError(item.url, "URLs are fetched by `fundstelle index` without --ray"))
        elif isinstance(item, FileInput) and str(item.path) in claims.refused:
            report.errors.append(ReadError(str(item.path), claims.refused[str(item.path)]))
        else:
            files.append({"path": str(item.path), "doc_id": item.doc_id or ""})

    writer_class = ray.remote(ShardWriter)
    writers = [writer_class.options(num_cpus=WRITER_CPUS, resources=shard_resources(i, pin_shards),
                                    name=None).remote(str(root), i, model, settings, manifest.shards)
               for i in range(manifest.shards)]
    try:
        ray.get([w.ready.remote() for w in writers])
    except ray.exceptions.RayError as exc:
        raise IndexProblem(f"a shard writer could not open its folder: {_cause(exc)}") from None

    if files:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # last version of a doc_id wins, as on one node
        context.enable_progress_bars = progress
        batch = settings.index_batch_articles
        dataset = (
            ray.data.from_items(files, override_num_blocks=max(1, min(len(files), 200)))
            .flat_map(_read, fn_args=(claims.refused,), num_cpus=READ_CPUS)
            .map_batches(_chunk, fn_args=(settings, manifest.shards, writers), batch_size=batch,
                         num_cpus=READ_CPUS)
            .map_batches(_Embedder, fn_constructor_args=(settings, manifest.model_fingerprint), batch_size=batch,
                         compute=ray.data.ActorPoolStrategy(min_size=1, max_size=max(1, embedders)),
                         num_cpus=EMBED_CPUS)
        )
        pending: list = []  # (ref, shard) of commits not yet answered

        def settle(limit: int) -> None:
            while len(pending) > limit:
                ref, _ = pending.pop(0)
                status, passages = ray.get(ref)
                for doc_id, state in status.items():
                    getattr(report, state).append(doc_id)
                    if state != "unchanged":
                        report.passages += passages[doc_id]

        try:
            for rows in dataset.iter_batches(batch_size=batch, batch_format="numpy"):
                per_shard: dict[int, list] = {}
                for blob in rows["item"]:
                    kind, *rest = pickle.loads(blob)
                    if kind == "error":
                        report.errors.append(ReadError(rest[0], rest[1]))
                    elif kind == "warning":
                        report.warnings.append(ReadWarning(rest[0], rest[1]))
                    elif kind == "unchanged":
                        report.unchanged.append(rest[1])
                    else:
                        per_shard.setdefault(rest[0], []).append(rest[1])
                for shard, prepared in per_shard.items():
                    pending.append((writers[shard].commit.remote(prepared), shard))
                settle(in_flight * manifest.shards)
            settle(0)
        except ray.exceptions.RayError as exc:
            cause = _cause(exc)
            if isinstance(cause, IndexProblem):
                raise cause from None
            raise
    report.shards = [tuple(c) for c in ray.get([w.finish.remote() for w in writers])]
    for w in writers:
        ray.kill(w)
    report.seconds = time.perf_counter() - started
    return report
