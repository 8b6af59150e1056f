"""An index folder: the SQLite store plus the vectors, kept in step.

SQLite is the source of truth; every write is one transaction that bumps ``generation``.
The vector base file ``vectors.g<N>.faiss`` holds the vectors of generation N (an exact flat
index for small folders, an IVF index over 8-bit codes for large ones, see
:mod:`store.vectors`). It is not rewritten on every write: on load it is caught up from
SQLite, which logs what changed since N (rows above the base's high-water id are new, the
``passage_tombstones`` after N are gone). :meth:`Index.save_vectors` rewrites it only when
those changes grow large (compaction); small flat indexes are simply rewritten. A base is
used only if it is intact (header checksum), the store vouches for it (its token is recorded
in the store's meta before the file is renamed into place, so a store restored from a backup
does not trust newer files) and, once caught up, it holds exactly the store's passage ids;
otherwise the vectors are rebuilt from SQLite in large chunks.

Readers call :meth:`Index.refresh` before answering: when another process (or thread)
has committed a write, the in-memory vectors catch up from SQLite inside one read
snapshot and the change is applied in one step, so a search never sees half of a change.
Writers in all processes are serialised by the lock file ``write.lock``.

The lexical (BM25) index ``lexical/`` is a second cache of the store, kept in step the same way
(:mod:`store.lexical_index`): writers catch it up right after each commit, readers when they find it behind.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from core.errors import IndexProblem, WriteBusy
from store.lexical_index import LexicalIndex, wanted_engine
from store.store import SCHEMA_VERSION, Store
from store.vectors import (
    IVFIndex,
    VectorIndex,
    base_files,
    build,
    lists_for,
    load,
    new_token,
    read_header_fields,
    wanted_kind,
)

log = logging.getLogger(__name__)
DB_NAME = "fundstelle.sqlite3"
LOCK_NAME = "write.lock"
COMPACT_MIN = 20_000  # an ANN base is rewritten once this many passages changed since it ...
COMPACT_SHARE = 0.10  # ... and at least this share of it: a few hundred MB written per ~10% of change


class Index:
    def __init__(self, folder: Path, embedder):
        """``embedder`` needs ``.dim``, ``.fingerprint`` and ``.name`` here (and encode_* for writers)."""
        self.folder = Path(folder)
        self.embedder = embedder
        self.store = Store(self.folder / DB_NAME)
        self.vectors: VectorIndex | None = None
        self.generation = -1
        self.high_water = 0  # the largest passage id assigned at self.generation
        self.cache_problem: str | None = None  # why the last load could not use the base file
        self._sync = threading.RLock()  # guards self.vectors / self.generation
        self._file_lock = FileLock(str(self.folder / LOCK_NAME))
        # the BM25 engine that does not scan (None: FTS5 alone, FUNDSTELLE_LEXICAL=fts5)
        self.lexical: LexicalIndex | None = LexicalIndex(self.folder) if wanted_engine() == "tantivy" else None

    # -- opening ------------------------------------------------------------------------
    @staticmethod
    def recorded_fingerprint(folder: Path) -> str | None:
        """The model fingerprint the index in ``folder`` was built with, read without opening it for writing (None:
        no index there yet, or nothing written): ``FUNDSTELLE_ENCODER=auto`` loads the variant that made it."""
        path = Path(folder) / DB_NAME
        if not path.is_file():
            return None
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                return Store.model_fingerprint(conn)
            finally:
                conn.close()
        except sqlite3.Error:
            return None  # opening it reports the problem

    @classmethod
    def open(cls, folder: Path, embedder, create: bool = False) -> Index:
        folder = Path(folder)
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        index = cls(folder, embedder)
        try:
            if not index.store.exists():
                if not create:
                    raise IndexProblem(
                        f"no index at {folder}: run `fundstelle index` first (or set FUNDSTELLE_INDEX_DIR)")
                index.store.initialise()
            index.check_compatible()
            if index.store.upgrade():
                log.info("index at %s: added the passage tombstone log (vectors now catch up from it)", folder)
            index.repair_store()
            if index.lexical is not None:
                index.store.after_write = index._lexical_written  # writers catch it up after each commit
                index.catch_up_lexical(wait=1)  # a writer busy elsewhere catches it up itself
            index.refresh()
            if index.cache_problem:  # replace the bad file now rather than rebuild on every start
                index.save_vectors(timeout=1, replace=True)
        except sqlite3.OperationalError as exc:
            index.close()
            raise IndexProblem(f"cannot open the index at {folder}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            index.close()
            raise IndexProblem(
                f"{folder / DB_NAME} is damaged or not a Fundstelle index ({exc}): "
                "restore a backup or re-index into a new --index-dir"
            ) from exc
        return index

    def check_compatible(self) -> None:
        meta = self.store.meta()
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise IndexProblem(
                f"index at {self.folder} has schema version {meta.get('schema_version')!r}, this Fundstelle "
                f"needs {SCHEMA_VERSION!r}: re-index into a new --index-dir"
            )
        built_with = meta.get("model_fingerprint")
        if built_with is None:
            return  # empty index: the first write records the model
        if built_with != self.embedder.fingerprint or int(meta.get("model_dim", -1)) != self.embedder.dim:
            raise IndexProblem(
                f"index at {self.folder} was built with model {meta.get('model_name')!r} "
                f"(dim {meta.get('model_dim')}, fingerprint {built_with}), but the configured model is "
                f"{self.embedder.name!r} (dim {self.embedder.dim}, fingerprint {self.embedder.fingerprint}). "
                "Set FUNDSTELLE_MODEL to the index's model, or re-index into a new --index-dir."
            )

    def model_meta(self) -> dict[str, str]:
        name = Path(self.embedder.name)
        return {
            "model_name": name.name if name.is_dir() else self.embedder.name,
            "model_dim": str(self.embedder.dim),
            "model_fingerprint": self.embedder.fingerprint,
        }

    # -- keeping vectors in step with SQLite --------------------------------------------
    def refresh(self) -> bool:
        """Catch up with committed writes; returns True if anything changed.

        Everything is read inside one SQLite read snapshot, then applied to the in-memory
        vectors in one step (a concurrent search sees the old or the new state, never a mix),
        and ``self.vectors`` is never None once loaded. Catching up reads only what changed
        (the tombstone log and the rows above the high-water id), not every passage id.
        """
        generation = self.store.generation()
        if self.lexical is not None and not self.lexical.follows(generation):
            self.catch_up_lexical()
        if self.vectors is not None and generation == self.generation:
            return False
        with self._sync:
            with self.store.snapshot() as conn:
                generation = self.store.generation(conn)
                if self.vectors is not None and generation == self.generation:
                    return False
                if self.vectors is None or generation < self.generation:
                    # first load, or the store was replaced by an older one: ids may mean other things
                    self._load(conn, generation)
                    return True
                fresh = self.store.changed_since(self.generation, self.high_water, conn)
                if wanted_kind(self.vectors.ntotal + fresh, self.vectors.kind) != self.vectors.kind and (
                        fresh >= self.vectors.ntotal):
                    # a bulk load into a small index: build the right kind at once from the store
                    self._rebuild(conn, generation, self.vectors.ntotal + fresh)
                    return True
                gone, ids, vectors = self._changes(conn, self.generation, self.high_water, self.vectors)
                high_water = self.store.high_water(conn)
            self.vectors.apply(gone, ids, vectors)
            self.generation, self.high_water = generation, high_water
            if self.vectors.ntotal != len(self.vectors.ids()):  # only if FAISS misbehaves; never serve it
                log.warning("in-memory vectors (%s) disagree with their %s passage ids after catching up; "
                            "rebuilding them from the store", self.vectors.ntotal, len(self.vectors.ids()))
                with self.store.snapshot() as conn:
                    self._load(conn, self.store.generation(conn), use_cache=False)
            return True

    # -- keeping the lexical index in step with SQLite ---------------------------------------
    def catch_up_lexical(self, wait: float = 0) -> bool:
        """Catch the lexical index up with the store under the write lock, waiting at most ``wait`` s for
        it (its holder catches it up after its commit). True if it follows the store now; while it does
        not, the retriever asks FTS5. Never raises: SQLite holds everything, the next try heals."""
        if self.lexical is None:
            return True
        try:
            with self.write_lock(wait):
                self.lexical.catch_up(self.store)
            return True
        except WriteBusy:
            return False
        except (OSError, ValueError, RuntimeError, sqlite3.Error) as exc:
            log.warning("lexical index at %s not caught up (%s); BM25 answers from FTS5 meanwhile", self.folder, exc)
            return False

    def _lexical_written(self) -> None:
        """The store's after-write hook: the writer holds the write lock already."""
        try:
            self.lexical.catch_up(self.store)
        except (OSError, ValueError, RuntimeError, sqlite3.Error) as exc:
            log.warning("lexical index at %s not caught up after a write (%s); the next reader or writer "
                        "catches it up", self.folder, exc)

    def lexical_follows(self, conn: sqlite3.Connection) -> bool:
        """Whether BM25 can be asked of the lexical index in ``conn``'s snapshot (else of FTS5)."""
        return self.lexical is not None and self.lexical.follows(self.store.generation(conn))

    def _changes(self, conn: sqlite3.Connection, generation: int, high_water: int, vectors: VectorIndex
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids gone, ids new, their vectors) between ``vectors`` (at ``generation``) and the snapshot."""
        changes = self.store.changes_since(generation, high_water, self.embedder.dim, conn)
        if changes is not None:
            return changes
        # the tombstone log does not reach back that far: compare all ids (slower, same result)
        db_ids, known = self.store.passage_ids(conn), vectors.ids()
        fresh = np.setdiff1d(db_ids, known, assume_unique=True)
        gone = np.setdiff1d(known, db_ids, assume_unique=True)
        return gone, fresh, self.store.vectors(fresh, self.embedder.dim, conn)

    def _exact(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact fp32 vectors for the ANN's re-ranking (this thread's connection: inside the
        caller's snapshot if there is one)."""
        return self.store.present_vectors(ids, self.embedder.dim)

    def _attach(self, vectors: VectorIndex) -> VectorIndex:
        if isinstance(vectors, IVFIndex):
            vectors.exact = self._exact
        return vectors

    def _load(self, conn: sqlite3.Connection, generation: int, use_cache: bool = True) -> None:
        """Load the vectors of ``generation`` (read inside the caller's snapshot ``conn``).

        The newest base file is used if it is intact, vouched for by the store, not newer than
        the store, and holds exactly the store's passage ids once caught up; otherwise the
        vectors are rebuilt from SQLite, the source of truth.
        """
        why = None
        if use_cache:
            base, why = self._base(conn, generation)
            if base is not None:
                self.vectors, self.generation = base, generation
                self.high_water = self.store.high_water(conn)
                self.cache_problem = None
                return
        self.cache_problem = why if why and not why.startswith("no vector cache") else None
        count = self.store.passage_count(conn)
        if self.cache_problem:
            log.warning("%s: rebuilding the vector cache from the store (SQLite is the source of truth)", why)
        elif why and count:
            log.info("%s (the last write was not followed by a save): building vectors from the store", why)
        self._rebuild(conn, generation, count)

    def _rebuild(self, conn: sqlite3.Connection, generation: int, count: int) -> None:
        dim = self.embedder.dim

        def sample(m: int) -> np.ndarray:
            ids = self.store.passage_ids(conn)
            picked = np.sort(np.random.default_rng(0).choice(ids, size=min(m, len(ids)), replace=False))
            return self.store.vectors(picked, dim, conn)

        self.vectors = self._attach(build(dim, count, self.store.vector_chunks(dim, conn), sample))
        self.generation, self.high_water = generation, self.store.high_water(conn)

    def _base(self, conn: sqlite3.Connection, generation: int) -> tuple[VectorIndex | None, str | None]:
        """The newest usable base file caught up to the snapshot, or (None, what was wrong)."""
        files = base_files(self.folder)
        if not files:
            return None, f"no vector cache vectors.g{generation}.faiss"
        base_generation, path = files[0]
        if base_generation > generation:
            return None, (f"{path.name} is newer than the store (generation {generation}; "
                          "was the store restored from a backup?)")
        base, why = load(self.folder, base_generation, self.embedder.dim)
        if base is None:
            return None, why
        if base.token not in self.store.vector_bases(conn):
            return None, f"{path.name} was not written for this store (the store does not vouch for it)"
        gone, ids, vectors = self._changes(conn, base.generation, base.high_water, base)
        base.apply(gone, ids, vectors)
        db_count = self.store.passage_count(conn)
        if base.ntotal != db_count:
            return None, (f"{path.name} holds {base.ntotal} vectors once caught up, but the store has "
                          f"{db_count} passage rows")
        return self._attach(base), None

    def check(self) -> list[str]:
        """Every disagreement between the store, the in-memory vectors and the base file on disk."""
        self.refresh()
        with self._sync, self.store.snapshot() as conn:
            problems = self.store.problems(conn)
            generation = self.store.generation(conn)
            db_ids = self.store.passage_ids(conn)
            if generation != self.generation:
                problems.append(f"in-memory vectors are at generation {self.generation}, the store at {generation}")
            if self.vectors.ntotal != len(db_ids):
                problems.append(f"FAISS ntotal {self.vectors.ntotal} != {len(db_ids)} passage rows")
            elif not np.array_equal(self.vectors.ids(), db_ids):
                problems.append("FAISS ids differ from the passage ids")
            if self.lexical is not None:
                problems += self.lexical.problems(self.store)
            files = base_files(self.folder)
            if files:
                base, why = self._base(conn, generation)
                if base is None:
                    problems.append(why)
                elif not np.array_equal(base.ids(), db_ids):
                    problems.append(f"{files[0][1].name} holds other ids than the store once caught up")
        return problems

    def repair_store(self) -> list[str]:
        """Bring the lexical (FTS) rows back in line with the passages; returns what was wrong."""
        if self.store.probably_in_step():
            return []
        problems = self.store.problems()
        if not problems:
            return []
        log.warning("index at %s: %s; repairing", self.folder, "; ".join(problems))
        with self.write_lock():
            self.store.repair_lexical()
        return problems

    def compaction_due(self) -> bool:
        """Whether a save would rewrite the base file: there is none the store vouches for, or a
        small (flat) index changed at all, or an ANN index changed by COMPACT_MIN passages and
        COMPACT_SHARE of itself since its base."""
        files = base_files(self.folder)
        if not files or self.vectors is None or self._wrong_shape():
            return True
        base_generation, path = files[0]
        try:
            header = read_header_fields(path)
        except OSError:
            return True
        if header is None or header["token"] not in self.store.vector_bases():
            return True
        if base_generation == self.generation:
            return False
        if self.vectors.kind == "flat":
            return True
        changed = self.store.changed_since(base_generation, header["high_water"])
        return changed >= max(COMPACT_MIN, COMPACT_SHARE * self.vectors.ntotal)

    def _wrong_shape(self) -> bool:
        """The index should switch kinds (flat <-> ANN), or its lists were trained for another size."""
        kind, n = self.vectors.kind, self.vectors.ntotal
        if wanted_kind(n, kind) != kind:
            return True
        return kind == "ivf" and not 0.5 <= self.vectors.index.nlist / lists_for(n) <= 2

    def save_vectors(self, timeout: float = 10.0, replace: bool = False) -> bool:
        """Write a new base file for the current generation if one is due; best effort, never raises.

        Runs under the write lock (so no write can commit meanwhile and the file names the
        state it holds). The store vouches for the new file's token before it is renamed into
        place. If another writer holds the lock, or the disk refuses, nothing is written: the
        next start catches the old base up from SQLite (or rebuilds from it).
        """
        if self.vectors is None:
            return False
        try:
            with self.write_lock(timeout), self._sync:
                self.refresh()
                if not replace and not self.compaction_due():
                    return True
                if self._wrong_shape():
                    with self.store.snapshot() as conn:  # switch kinds, or retrain for the new size
                        self._rebuild(conn, self.generation, self.vectors.ntotal)
                token = new_token()
                previous = min(self.store.vector_bases().values(), default=0)
                self.store.vouch_for_vector_base(token, self.generation)
                self.vectors.save(self.folder, self.generation, self.high_water, token)
                self.store.prune_tombstones(previous)  # readers behind it compare all ids instead
                self.cache_problem = None
            return True
        except WriteBusy:
            log.info("vector cache not saved: another process is writing to %s", self.folder)
        except (OSError, RuntimeError, sqlite3.Error) as exc:
            log.warning("vector cache not saved (%s); the next start catches up from the store", exc)
        return False

    # -- writing ------------------------------------------------------------------------
    @contextmanager
    def write_lock(self, timeout: float = 600):
        """Writers in any process are serialised by a lock file next to the index (an OS lock:
        released by the kernel when its holder dies, even by SIGKILL)."""
        try:
            with self._file_lock.acquire(timeout=timeout):
                yield
        except Timeout:
            raise WriteBusy(f"another process has been writing to {self.folder} for over {timeout:.0f}s") from None

    def counts(self) -> tuple[int, int]:
        return self.store.counts()

    def close(self) -> None:
        if self.lexical is not None:
            self.lexical.close()
        self.store.close()
