"""FAISS side: exact inner-product search over normalised vectors, keyed by passage id.

The on-disk file is a cache of the vectors in SQLite, named after the store generation
it reflects (``vectors.g<N>.faiss``) and written atomically (temporary file, fsync,
rename, fsync of the folder), so a file that exists is always complete and says which
state it holds. Each file starts with a small header (format, generation, dimension,
vector count, payload length and SHA-256), so a truncated, damaged or renamed file is
recognised before FAISS reads it and is simply rebuilt from SQLite.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import struct
import tempfile
import threading
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)

FILE_PATTERN = re.compile(r"^vectors\.g(\d+)\.faiss$")
TMP_PREFIX = ".vectors-"
MAGIC = b"FSVEC\x00\x01\n"
# magic, generation, dim, ntotal, payload bytes, sha256 of the payload
HEADER = struct.Struct("<8sqiqq32s")


def cache_path(folder: Path, generation: int) -> Path:
    return Path(folder) / f"vectors.g{generation}.faiss"


class VectorIndex:
    def __init__(self, dim: int):
        self.dim = dim
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.lock = threading.Lock()  # faiss indexes are not safe to mutate while searched

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        with self.lock:
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.apply((), ids, vectors)

    def remove(self, ids: np.ndarray | list[int]) -> None:
        self.apply(ids, (), np.zeros((0, self.dim), dtype=np.float32))

    def apply(self, remove: np.ndarray | list[int], ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        """Remove some ids and add others as one step: a concurrent search sees all of it or none."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(ids) != len(vectors) or (len(ids) and vectors.shape[1] != self.dim):
            raise ValueError(f"{len(ids)} ids but vectors of shape {vectors.shape} (dim {self.dim})")
        with self.lock:
            if len(remove):
                self.index.remove_ids(np.asarray(remove, dtype=np.int64))
            if len(ids):
                self.index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        with self.lock:
            k = max(1, min(k, self.ntotal))
            scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, ids

    # -- persistence --------------------------------------------------------------------
    def save(self, folder: Path, generation: int) -> Path:
        """Write ``vectors.g<generation>.faiss`` atomically and remove older caches."""
        folder = Path(folder)
        target = cache_path(folder, generation)
        remove_stale_temporaries(folder)
        with self.lock:
            payload = faiss.serialize_index(self.index)
            ntotal = self.ntotal
        header = HEADER.pack(MAGIC, generation, self.dim, ntotal, len(payload), hashlib.sha256(payload).digest())
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(header)
                fh.write(memoryview(payload))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            fsync_dir(folder)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for old in folder.glob("vectors.g*.faiss"):
            if old != target:
                old.unlink(missing_ok=True)
        return target

    @classmethod
    def load(cls, folder: Path, generation: int, dim: int) -> tuple[VectorIndex | None, str | None]:
        """The cached vectors for exactly this generation, or (None, why not)."""
        path = cache_path(folder, generation)
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            return None, f"no vector cache {path.name}"
        except OSError as exc:
            return None, f"cannot read {path.name}: {exc}"
        if len(raw) < HEADER.size:
            return None, f"{path.name} is truncated ({len(raw)} bytes)"
        magic, file_generation, file_dim, ntotal, length, digest = HEADER.unpack_from(raw)
        payload = raw[HEADER.size :]
        if magic != MAGIC:
            return None, f"{path.name} is not a Fundstelle vector cache (unknown header)"
        if len(payload) != length:
            return None, f"{path.name} is truncated ({len(payload)} of {length} payload bytes)"
        if hashlib.sha256(payload).digest() != digest:
            return None, f"{path.name} is damaged (checksum mismatch)"
        if file_generation != generation or file_dim != dim:
            return None, f"{path.name} holds generation {file_generation}, dim {file_dim}; expected {generation}, {dim}"
        try:
            index = faiss.deserialize_index(np.frombuffer(payload, dtype=np.uint8))
        except RuntimeError as exc:
            return None, f"{path.name} could not be read by FAISS: {str(exc).splitlines()[0][:200]}"
        if not isinstance(index, faiss.IndexIDMap2) or index.d != dim or index.ntotal != ntotal:
            return None, f"{path.name} does not hold an id-mapped index of {ntotal} vectors of dim {dim}"
        loaded = cls(dim)
        loaded.index = index
        return loaded, None


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files left by a writer that was killed mid-save (call under the write lock)."""
    for tmp in Path(folder).glob(f"{TMP_PREFIX}*.tmp"):
        tmp.unlink(missing_ok=True)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
