"""The sharded archive behind the :class:`engine.Engine` interface: the ingress's engine.

:class:`ShardedEngine` has the methods the HTTP routes use (ask, documents, document, write, delete,
sources, status, warm, save), so the ingress runs the very same FastAPI app as a single node. Its
shards are reached through :class:`ShardCalls` (Serve deployment handles in production).

- **ask**: the question is analysed and embedded once (:func:`retrieval.query.analyse`, inside the
  single node's :class:`retrieval.searcher.Searcher`); :class:`FanOutRetriever` sends the query to
  every shard at once and merges their raw candidates into one pool, keeping per side the best
  ``CANDIDATES`` by raw score; the searcher then fuses, weighs evidence and chooses for variety ONCE
  over the whole pool. Cosines compare across shards as they are; BM25 scores do once every shard
  scores with the same statistics, so a question with BM25 terms costs one fan-out more first (as
  Elasticsearch's dfs_query_then_fetch): every shard sends its statistics of the query terms (its
  passages, their tokens, per term the passages that contain it), the ingress sums them and sends
  the sums inside the query, and every shard scores its BM25 candidates with them
  (:meth:`store.lexical.Lexical.lexical_rescored`). Both sides of the pool are then exactly those of
  one index holding the same passages: answers do not depend on the shard count. One shard needs no
  such phase.
- A shard that does not answer in time (its replica died and Serve is restarting it) is left out:
  the answer says ``partial`` with the ``missing_shards``; it is never an error. A shard missing from
  the statistics is not asked for candidates (its passages would be scored with sums it is not in).
- **context windows** of the answer's passages are read in their shards: one call per shard, all sent
  at once (:class:`ShardWindows`, the archive's :class:`retrieval.types.WindowSource`).
- **writes** go to the shard that owns the doc_id, by the single node's policy (:mod:`engine.writes`):
  the ingress cleans, chunks and embeds, the shard commits (create-only conflicts are checked again
  inside its transaction). A write is acknowledged
  only after the shard's commit returned, so every acknowledged write is durable.
- **documents**: pages merge the shards' first ``offset + limit`` articles in the single node's order.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from core.documents import Article
from core.errors import Conflict, IndexProblem, Unindexable, WriteBusy
from core.filters import Filters, merge_sources
from core.settings import Settings
from engine import writes
from engine.types import Status
from indexer.pipeline import embed_parts, unembedded
from models.reader import load_reader
from retrieval.hits import Answer, Hit
from retrieval.ordering import Sort, order
from retrieval.query import Query
from retrieval.retrievers import CANDIDATES
from retrieval.searcher import Searcher
from retrieval.types import Candidates
from scaleout.manifest import Manifest
from store.bm25 import LexicalStats
from store.types import Prepared

DEFAULT_TIMEOUT = 10.0  # seconds a shard may take to answer before it counts as missing
GRACE = 0.5  # seconds to fetch an answer that arrived while the deadline passed waiting for another shard


class ShardUnavailable(IndexProblem):
    """A shard did not answer (its replica is restarting, or its node is gone): HTTP 503 for writes."""


class ShardCalls:
    """Calls a method on shard ``i`` through a Serve deployment handle; failures become clear errors.

    An exception raised by the shard's own code (a create-only conflict, a busy write lock) is raised
    again here as itself; a shard that is dead, restarting or too slow is :class:`ShardUnavailable`.
    """

    def __init__(self, handles: Sequence[Any], timeout: float = DEFAULT_TIMEOUT):
        self.handles = list(handles)
        self.timeout = timeout

    def __len__(self) -> int:
        return len(self.handles)

    def submit(self, shard: int, method: str, *args) -> Any:
        return getattr(self.handles[shard], method).remote(*args)

    def wait(self, shard: int, pending: Any, timeout: float | None = None) -> Any:
        from ray.exceptions import RayTaskError

        try:
            return pending.result(timeout_s=self.timeout if timeout is None else max(0.01, timeout))
        except RayTaskError as exc:  # the shard's own code raised: that exception, not Ray's wrapper
            cause = getattr(exc, "cause", None)
            if isinstance(cause, IndexProblem | WriteBusy | Conflict | Unindexable | ValueError | sqlite3.Error):
                raise cause from None
            raise ShardUnavailable(f"shard {shard} failed: {cause or exc}") from None
        except Exception as exc:  # timeout, actor died, replica unavailable: the shard is not there now
            cancel = getattr(pending, "cancel", None)
            if cancel is not None:  # do not let a queued call run when the shard is back: nobody waits for it
                cancel()
            raise ShardUnavailable(f"shard {shard} is not answering ({type(exc).__name__}); it is probably "
                                   "restarting: try again in a few seconds") from None

    def call(self, shard: int, method: str, *args) -> Any:
        return self.wait(shard, self.submit(shard, method, *args))

    def all(self, method: str, *args, timeout: float | None = None) -> tuple[dict[int, Any], list[int]]:
        """Every shard's answer (sent at once, awaited within one deadline) and the shards that gave none."""
        return self.gather(method, dict.fromkeys(range(len(self.handles)), args), timeout)

    def gather(self, method: str, args: dict[int, tuple], timeout: float | None = None
               ) -> tuple[dict[int, Any], list[int]]:
        """As :meth:`all`, for the shards in ``args``, each called with its own arguments."""
        pending = {i: self.submit(i, method, *shard_args) for i, shard_args in args.items()}
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        answers, missing = {}, []
        for i, response in pending.items():
            try:  # a shard that answered while an earlier one was awaited still gets a moment to be fetched
                answers[i] = self.wait(i, response, max(GRACE, deadline - time.monotonic()))
            except ShardUnavailable:
                missing.append(i)
        return answers, missing


def merge_candidates(parts: Sequence[Candidates], candidates: int = CANDIDATES) -> Candidates:
    """One pool from several shards' candidates (global passage ids): per side the best ``candidates``
    by raw score, as one index holding all passages would have returned."""
    dense = sorted((c for p in parts for c in p.dense), key=lambda c: -c[1])[:candidates]
    lexical = sorted((c for p in parts for c in p.lexical), key=lambda c: -c[1])[:candidates]
    keep = {pid for pid, _ in dense} | {pid for pid, _ in lexical}
    merged = Candidates(dense=dense, lexical=lexical)
    for part in parts:
        merged.cosines.update((pid, s) for pid, s in part.cosines.items() if pid in keep)
        merged.passages.update((pid, p) for pid, p in part.passages.items() if pid in keep)
        merged.vectors.update((pid, v) for pid, v in part.vectors.items() if pid in keep)
    return merged


class FanOutRetriever:
    """The retriever the single node's :class:`Searcher` calls: asks all shards, returns one merged pool.

    Which shards were missing is collected per thread (each request runs in its own worker thread),
    between :meth:`begin` and :meth:`end`, across every retrieval the request made.
    """

    def __init__(self, shards: ShardCalls):
        self.shards = shards
        self._local = threading.local()

    def begin(self) -> None:
        self._local.missing = set()

    def end(self) -> list[int]:
        missing = sorted(getattr(self._local, "missing", set()))
        self._local.missing = set()
        return missing

    def retrieve(self, query: Query) -> Candidates:
        shards = list(range(len(self.shards)))
        if len(shards) > 1 and query.uses_lexical and query.terms:
            # the archive's BM25 statistics first, so that every shard scores as one index would
            stats, missing = self.shards.all("lexical_stats", query.lexical_terms)
            self._missing(missing)
            query = replace(query, lexical_stats=LexicalStats.total(stats[i] for i in sorted(stats)))
            shards = sorted(stats)  # a shard not in the sums would score its passages with others' numbers
        query = query.resolved()  # the embedding went on during the statistics' round trip; shards get the vector
        answers, missing = self.shards.gather("retrieve", {i: (query,) for i in shards})
        self._missing(missing)
        return merge_candidates([answers[i] for i in sorted(answers)])

    def _missing(self, shards: list[int]) -> None:
        if not hasattr(self._local, "missing"):
            self._local.missing = set()
        self._local.missing.update(shards)


class ShardWindows:
    """Context windows read in the shards that hold the passages: one call per shard, all sent at once
    (a :class:`retrieval.types.WindowSource`). A shard that does not answer leaves its passages as
    retrieved (still exact), without a window."""

    def __init__(self, shards: ShardCalls, manifest: Manifest):
        self.shards = shards
        self.manifest = manifest

    def widen(self, hits: list[Hit], link: bool = True) -> list[Hit]:
        shard_of = [self.manifest.shard_of(hit.passage.doc_id) for hit in hits]
        by_shard: dict[int, list[int]] = {}
        for n, shard in enumerate(shard_of):
            by_shard.setdefault(shard, []).append(n)
        answers, _ = self.shards.gather("widen_many", {s: ([hits[n] for n in ns], link) for s, ns in by_shard.items()})
        # an article's passages are all in one shard, so each shard leaves out what one index would
        widened = {(shard, hit.passage.id): hit for shard, shard_hits in answers.items() for hit in shard_hits}
        out = []
        for hit, shard in zip(hits, shard_of, strict=True):
            if shard not in answers:  # did not answer: as retrieved
                out.append(hit)
            elif (shard, hit.passage.id) in widened:
                out.append(widened[(shard, hit.passage.id)])
        return out


def newest_first(rows: list[dict]) -> list[dict]:
    """The single node's document order (``published IS NULL, published DESC, doc_id``) in Python."""
    rows = sorted(rows, key=lambda r: r["doc_id"])
    rows.sort(key=lambda r: r["published"] or "", reverse=True)  # stable: doc_id order within a day
    return sorted(rows, key=lambda r: r["published"] is None)


class ShardedEngine:
    """Everything the routes do with an archive, over shards reached by :class:`ShardCalls`."""

    def __init__(self, settings: Settings, manifest: Manifest, shards: ShardCalls, encoder,
                 status_timeout: float = 2.0):
        if len(shards) != manifest.shards:
            raise IndexProblem(f"the archive has {manifest.shards} shards but {len(shards)} were given")
        self.settings = settings
        self.manifest = manifest
        self.shards = shards
        self.encoder = encoder
        self.retriever = FanOutRetriever(shards)
        # the reader reads at the ingress: once, over the merged pool (a shard never loads a model)
        self.searcher = Searcher(self.retriever, encoder, windows=ShardWindows(shards, manifest),
                                 reader=load_reader(settings, encoder))
        self.status_timeout = status_timeout

    # -- questions ------------------------------------------------------------------------
    def ask(self, question: str, top_k: int = 5, filters: Filters | None = None,
            sort: Sort = Sort.RELEVANCE, history: list[str] | None = None) -> Answer:
        """As :meth:`engine.Engine.ask`; ``partial`` and ``missing_shards`` say which shards did not answer."""
        self.retriever.begin()
        answer = order(self.searcher.ask(question, top_k, history, filters), sort)
        missing = self.retriever.end()
        return replace(answer, partial=bool(missing), missing_shards=tuple(missing)) if missing else answer

    # -- reading ----------------------------------------------------------------------------
    def documents(self, offset: int, limit: int, filters: Filters | None = None) -> tuple[int, list[dict]]:
        """Paged metadata (of the articles ``filters`` allow), newest first, over all shards (each sends its
        first ``offset + limit``)."""
        answers, missing = self.shards.all("page", offset + limit, filters)
        if missing:
            raise ShardUnavailable(f"shards {missing} are not answering; the list would be incomplete: "
                                   "try again in a few seconds")
        total = sum(t for t, _ in answers.values())
        rows = newest_first([row for _, page in answers.values() for row in page])
        return total, rows[offset : offset + limit]

    def document(self, doc_id: str) -> dict | None:
        return self.shards.call(self.manifest.shard_of(doc_id), "document", doc_id)

    def sources(self) -> list[dict]:
        answers, missing = self.shards.all("sources")
        if missing:
            raise ShardUnavailable(f"shards {missing} are not answering: try again in a few seconds")
        return merge_sources([row for rows in answers.values() for row in rows])

    def status(self) -> Status:
        answers, missing = self.shards.all("status", timeout=self.status_timeout)
        shards = [{**answers[i], "status": "ready"} if i in answers else
                  {"shard": i, "status": "unavailable", "documents": None, "passages": None, "generation": None}
                  for i in range(len(self.shards))]
        ready = list(answers.values())
        return Status(
            documents=sum(s["documents"] for s in ready), passages=sum(s["passages"] for s in ready),
            generation=sum(s["generation"] for s in ready), model=self.manifest.model_name,
            state="partial" if missing else "ready", shards=shards,
        )

    # -- writing ----------------------------------------------------------------------------
    def write(self, article: Article, create_only: bool = False) -> tuple[str, int]:
        """As the single node writes (:func:`engine.writes.write`), with the commit on the owning shard."""
        return writes.write(self, article, create_only)

    # the write target of engine.writes: the shard that owns the doc_id
    def stored_hash(self, doc_id: str) -> str | None:
        return self.shards.call(self.manifest.shard_of(doc_id), "hashes", [doc_id]).get(doc_id)

    def stored_passages(self, doc_id: str) -> int | None:
        document = self.shards.call(self.manifest.shard_of(doc_id), "document", doc_id)
        return None if document is None else len(document["passages"])

    def prepare(self, article: Article) -> Prepared:
        return embed_parts(self.encoder, [article], [unembedded(article, self.settings)],
                           self.settings.sentence_vectors)[0]

    def commit(self, prepared: Prepared, create_only: bool) -> tuple[str, int]:
        doc_id = prepared.article.doc_id
        status, passages = self.shards.call(self.manifest.shard_of(doc_id), "commit", [prepared], create_only)
        return status[doc_id], passages[doc_id]

    def delete(self, doc_ids: list[str]) -> list[str]:
        by_shard: dict[int, list[str]] = {}
        for doc_id in doc_ids:
            by_shard.setdefault(self.manifest.shard_of(doc_id), []).append(doc_id)
        deleted: list[str] = []
        for shard, ids in sorted(by_shard.items()):
            deleted.extend(self.shards.call(shard, "delete", ids))
        return [d for d in doc_ids if d in set(deleted)]

    def warm(self) -> None:
        self.encoder.encode_queries(["warm-up"])

    def save(self) -> None:
        self.shards.all("save")

    def close(self) -> None:
        pass


def local_shards(replicas: Sequence[Any]) -> ShardCalls:
    """:class:`ShardCalls` over in-process :class:`scaleout.shards.ShardReplica` objects (no Ray):
    the merge and routing logic, testable and benchmarkable without a cluster."""

    class _Done:
        def __init__(self, value=None, error=None):
            self.value, self.error = value, error

        def result(self, timeout_s=None):
            if self.error is not None:
                raise self.error
            return self.value

    class _Method:
        def __init__(self, fn: Callable):
            self.fn = fn

        def remote(self, *args):
            try:
                return _Done(self.fn(*args))
            except Exception as exc:  # handed to the caller, as a handle would raise it
                return _Done(error=exc)

    class _Handle:
        def __init__(self, replica):
            self.replica = replica

        def __getattr__(self, name):
            return _Method(getattr(self.replica, name))

    class _LocalCalls(ShardCalls):
        def wait(self, shard, pending, timeout=None):
            return pending.result()

    return _LocalCalls([_Handle(r) for r in replicas])
