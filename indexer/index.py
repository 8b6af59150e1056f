"""An index folder: the SQLite store plus the FAISS vectors, kept in step.

SQLite is the source of truth; every write is one transaction that bumps ``generation``.
The FAISS file ``vectors.g<N>.faiss`` is only a cache of the vectors of generation N: it
is used when it is intact and holds exactly the store's passage ids, and rebuilt from
SQLite otherwise (e.g. after a crash between a commit and the save).

Readers call :meth:`Index.refresh` before answering: when another process (or thread)
has committed a write, the in-memory vectors catch up from SQLite inside one read
snapshot and the change is applied in one step, so a search never sees half of a change.
Writers in all processes are serialised by the lock file ``write.lock``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from indexer.embedding import Embedder
from indexer.errors import IndexProblem, WriteBusy
from indexer.inputs import lexical_input
from indexer.store import SCHEMA_VERSION, Store
from indexer.vectors import VectorIndex, cache_path

log = logging.getLogger(__name__)
DB_NAME = "fundstelle.sqlite3"
LOCK_NAME = "write.lock"


class Index:
    def __init__(self, folder: Path, embedder: Embedder):
        self.folder = Path(folder)
        self.embedder = embedder
        self.store = Store(self.folder / DB_NAME)
        self.vectors: VectorIndex | None = None
        self.generation = -1
        self.cache_problem: str | None = None  # why the last load could not use the FAISS file
        self._sync = threading.RLock()  # guards self.vectors / self.generation
        self._file_lock = FileLock(str(self.folder / LOCK_NAME))

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, folder: Path, embedder: Embedder, create: bool = False) -> Index:
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
            index.repair_store()
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
        return {
            "model_name": self.embedder.name if not Path(self.embedder.name).is_dir() else Path(self.embedder.name).name,
            "model_dim": str(self.embedder.dim),
            "model_fingerprint": self.embedder.fingerprint,
        }

    # -- keeping vectors in step with SQLite --------------------------------------------
    def refresh(self) -> bool:
        """Catch up with committed writes; returns True if anything changed.

        Everything is read inside one SQLite read snapshot, then applied to the in-memory
        vectors in one step (a concurrent search sees the old or the new state, never a mix),
        and ``self.vectors`` is never None once loaded.
        """
        if self.vectors is not None and self.store.generation() == self.generation:
            return False
        with self._sync:
            with self.store.snapshot() as conn:
                generation = self.store._generation(conn)
                if self.vectors is not None and generation == self.generation:
                    return False
                if self.vectors is None or generation < self.generation:
                    # first load, or the store was replaced by an older one: ids may mean other things
                    self._load(conn, generation)
                    return True
                db_ids = self.store.passage_ids(conn)
                known = self.vectors.ids()
                fresh = np.setdiff1d(db_ids, known, assume_unique=True)
                gone = np.setdiff1d(known, db_ids, assume_unique=True)
                vectors = self.store.vectors(fresh, self.vectors.dim, conn)
            self.vectors.apply(gone, fresh, vectors)
            self.generation = generation
            if self.vectors.ntotal != len(db_ids):  # cannot happen unless FAISS misbehaves; never serve it
                log.warning("in-memory vectors (%s) disagree with the %s passage rows after catching up; "
                            "rebuilding them from the store", self.vectors.ntotal, len(db_ids))
                with self.store.snapshot() as conn:
                    self._load(conn, self.store._generation(conn), use_cache=False)
            return True

    def _load(self, conn: sqlite3.Connection, generation: int, use_cache: bool = True) -> None:
        """Load the vectors of ``generation`` (read inside the caller's snapshot ``conn``).

        The FAISS file is used only if it is intact (header checksum) and holds exactly the
        passage ids of the store; otherwise the vectors are rebuilt from SQLite, the source of truth.
        """
        dim = self.embedder.dim
        db_ids = self.store.passage_ids(conn)
        cached, why = VectorIndex.load(self.folder, generation, dim) if use_cache else (None, None)
        if cached is not None:
            cached_ids = np.sort(cached.ids())
            if np.array_equal(cached_ids, db_ids):
                self.vectors, self.generation = cached, generation
                return
            why = (f"{cache_path(self.folder, generation).name} holds {cached.ntotal} vectors but the store has "
                   f"{len(db_ids)} passage rows" if cached.ntotal != len(db_ids) else
                   f"{cache_path(self.folder, generation).name} holds other passage ids than the store")
        self.cache_problem = why if why and not why.startswith("no vector cache") else None
        if self.cache_problem:
            log.warning("%s: rebuilding the vector cache from the store (SQLite is the source of truth)", why)
        elif why and len(db_ids):
            log.info("%s (the last write was not followed by a save): building vectors from the store", why)
        ids, matrix = self.store.all_vectors(dim, conn)
        rebuilt = VectorIndex(dim)
        rebuilt.add(ids, matrix)
        self.vectors, self.generation = rebuilt, generation

    def check(self) -> list[str]:
        """Every disagreement between the store, the in-memory vectors and the vector cache on disk."""
        self.refresh()
        with self._sync, self.store.snapshot() as conn:
            problems = self.store.problems(conn)
            generation = self.store._generation(conn)
            db_ids = self.store.passage_ids(conn)
            if generation != self.generation:
                problems.append(f"in-memory vectors are at generation {self.generation}, the store at {generation}")
            if self.vectors.ntotal != len(db_ids):
                problems.append(f"FAISS ntotal {self.vectors.ntotal} != {len(db_ids)} passage rows")
            elif not np.array_equal(np.sort(self.vectors.ids()), db_ids):
                problems.append("FAISS ids differ from the passage ids")
            path = cache_path(self.folder, generation)
            if path.exists():
                cached, why = VectorIndex.load(self.folder, generation, self.vectors.dim)
                if cached is None:
                    problems.append(why)
                elif not np.array_equal(np.sort(cached.ids()), db_ids):
                    problems.append(f"{path.name} holds other ids than the store")
        return problems

    def repair_store(self) -> list[str]:
        """Bring the lexical (FTS) rows back in line with the passages; returns what was wrong."""
        problems = self.store.problems()
        if not problems:
            return []
        log.warning("index at %s: %s; repairing", self.folder, "; ".join(problems))
        with self.write_lock(), self.store.write() as conn:
            conn.execute("DELETE FROM passages WHERE doc_id NOT IN (SELECT doc_id FROM documents)")
            missing, orphaned = self.store.fts_mismatch(conn)
            conn.executemany("DELETE FROM passages_fts WHERE rowid=?", [(i,) for i in orphaned])
            for pid, p in self.store.passages(missing).items():
                conn.execute("INSERT INTO passages_fts (rowid, terms) VALUES (?, ?)",
                             (pid, " ".join(lexical_input(p.title, p.heading, p.text))))
            self.store._bump(conn)
        return problems

    def save_vectors(self, timeout: float = 10.0, replace: bool = False) -> bool:
        """Write the vector cache for the current generation; best effort, never raises.

        Runs under the write lock (so no write can commit meanwhile and the file names the
        state it holds). If another writer holds the lock, or the disk refuses, the cache is
        simply not written: the next start rebuilds the vectors from the store.
        """
        if self.vectors is None:
            return False
        try:
            with self.write_lock(timeout), self._sync:
                self.refresh()
                if cache_path(self.folder, self.generation).exists() and not replace:
                    return True
                self.vectors.save(self.folder, self.generation)
                self.cache_problem = None
            return True
        except WriteBusy:
            log.info("vector cache not saved: another process is writing to %s", self.folder)
        except (OSError, RuntimeError, sqlite3.Error) as exc:
            log.warning("vector cache not saved (%s); the next start rebuilds it from the store", exc)
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
        self.store.close()
