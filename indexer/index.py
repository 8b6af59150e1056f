"""An index folder: the SQLite store plus the FAISS vectors, kept in step.

Readers call :meth:`Index.refresh` before answering: when another process (or thread)
has committed a write, the in-memory vectors catch up from SQLite inside one read
snapshot, so a search never sees half of a change. Passage ids only grow
(AUTOINCREMENT), so catching up means "add ids above the last one, drop ids gone".
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from indexer.embedding import Embedder
from indexer.errors import IndexProblem, WriteBusy
from indexer.store import SCHEMA_VERSION, Store
from indexer.vectors import VectorIndex

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
        self._sync = threading.Lock()
        self._file_lock = FileLock(str(self.folder / LOCK_NAME))

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, folder: Path, embedder: Embedder, create: bool = False) -> Index:
        folder = Path(folder)
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        index = cls(folder, embedder)
        if not index.store.exists():
            if not create:
                raise IndexProblem(f"no index at {folder}: run `fundstelle index` first (or set FUNDSTELLE_INDEX_DIR)")
            index.store.initialise()
        index.check_compatible()
        index.refresh()
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
        """Catch up with committed writes; returns True if anything changed."""
        if self.vectors is not None and self.store.generation() == self.generation:
            return False
        with self._sync:
            if self.vectors is None:
                self._load()
                return True
            with self.store.snapshot() as conn:
                generation = int(conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
                if generation == self.generation:
                    return False
                db_ids = self.store.passage_ids(conn)
                known = self.vectors.ids()
                last = int(known.max()) if len(known) else 0
                fresh = db_ids[db_ids > last]
                gone = np.setdiff1d(known, db_ids, assume_unique=True)
                vectors = self.store.vectors(fresh, self.vectors.dim, conn)
            self.vectors.remove(gone)
            self.vectors.add(fresh, vectors)
            self.generation = generation
            self._verify(db_ids)
            return True

    def _load(self) -> None:
        dim = self.embedder.dim
        with self.store.snapshot() as conn:
            generation = int(conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
            db_ids = self.store.passage_ids(conn)
            cached = VectorIndex.load(self.folder, generation, dim)
            if cached is not None and np.array_equal(np.sort(cached.ids()), db_ids):
                self.vectors = cached
            else:
                if cached is not None:
                    log.warning("vector cache for generation %s disagrees with the store; rebuilding", generation)
                ids, matrix = self.store.all_vectors(dim, conn)
                self.vectors = VectorIndex(dim)
                self.vectors.add(ids, matrix)
        self.generation = generation

    def _verify(self, db_ids: np.ndarray) -> None:
        if self.vectors.ntotal != len(db_ids):
            log.warning("vector count %s != passage rows %s; rebuilding from the store", self.vectors.ntotal, len(db_ids))
            self.vectors = None
            self._load()

    def save_vectors(self) -> None:
        """Write the vector cache for the current generation (under the write lock)."""
        with self.write_lock():
            self.refresh()
            self.vectors.save(self.folder, self.generation)

    # -- writing ------------------------------------------------------------------------
    @contextmanager
    def write_lock(self, timeout: float = 600):
        """Writers in any process are serialised by a lock file next to the index."""
        try:
            with self._file_lock.acquire(timeout=timeout):
                yield
        except Timeout:
            raise WriteBusy(f"another process has been writing to {self.folder} for over {timeout:.0f}s") from None

    def counts(self) -> tuple[int, int]:
        return self.store.counts()
