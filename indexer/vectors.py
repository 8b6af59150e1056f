"""FAISS side: exact inner-product search over normalised vectors, keyed by passage id.

The on-disk file is a cache of the vectors in SQLite, named after the store generation
it reflects (``vectors.g<N>.faiss``) and written atomically (temporary file, fsync,
rename), so a file that exists is always complete and says which state it holds.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

import faiss
import numpy as np

FILE_PATTERN = re.compile(r"^vectors\.g(\d+)\.faiss$")


class VectorIndex:
    def __init__(self, dim: int):
        self.dim = dim
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.lock = threading.Lock()  # faiss indexes are not safe to mutate while searched

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            with self.lock:
                self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray | list[int]) -> None:
        if len(ids):
            with self.lock:
                self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        with self.lock:
            k = max(1, min(k, self.ntotal))
            scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, ids

    # -- persistence --------------------------------------------------------------------
    def save(self, folder: Path, generation: int) -> Path:
        target = folder / f"vectors.g{generation}.faiss"
        fd, tmp = tempfile.mkstemp(prefix=".vectors-", suffix=".tmp", dir=folder)
        os.close(fd)
        try:
            with self.lock:
                faiss.write_index(self.index, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            _fsync_dir(folder)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for old in folder.glob("vectors.g*.faiss"):
            if old != target:
                old.unlink(missing_ok=True)
        return target

    @classmethod
    def load(cls, folder: Path, generation: int, dim: int) -> VectorIndex | None:
        """The cached vectors for exactly this generation, or None if there is no usable file."""
        path = folder / f"vectors.g{generation}.faiss"
        if not path.exists():
            return None
        try:
            index = faiss.read_index(str(path))
        except RuntimeError:
            return None
        if index.d != dim:
            return None
        loaded = cls(dim)
        loaded.index = faiss.downcast_index(index) if not isinstance(index, faiss.IndexIDMap2) else index
        return loaded


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
