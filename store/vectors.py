"""FAISS side: inner-product search over normalised vectors, keyed by passage id.

Two implementations behind one :class:`VectorIndex` protocol, chosen by size:

- :class:`FlatIndex` (below :data:`ANN_THRESHOLD` vectors): exact search, fp32, as before.
  Its cost grows linearly: one query at a time on this 2-core machine (bench/storage.py, busy
  neighbours) took 18 ms at 60k vectors, 34 ms at 100k and 350 ms at 1M, past the 15 ms an
  answer may take at 100k; the ANN index below gave the same top 10 at 2 ms (100k) to 10 ms (1M).
- :class:`IVFIndex` (from :data:`ANN_THRESHOLD` on): an inverted file over 8-bit scalar-quantised
  codes (``IndexIVFScalarQuantizer``, QT_8bit: 1 byte per dimension, 384 MB at 1M x 384), with
  the top candidates re-ranked by their exact fp32 vectors read from SQLite (``exact``), so the
  quantisation error never decides the order. Deletes are real removals (``remove_ids``), so no
  tombstones accumulate in memory; new vectors are added in place.

On disk a vector index is a *base* file ``vectors.g<N>.faiss``: the state of generation N,
written atomically (temporary file, fsync, rename, fsync of the folder). It is not rewritten
on every write or save: SQLite is the change log (new rows have ids above the base's
high-water mark, deleted ids are in ``passage_tombstones``), and :mod:`store.index` catches a
loaded base up from it, rewriting the base only when the changes since it grow (compaction).
Each file starts with a header (format, generation, dimension, kind, vector count, high-water
mark, the token the store vouches for, payload lengths and SHA-256), so a truncated, damaged,
renamed or foreign file is recognised before FAISS reads it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import secrets
import struct
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

import faiss
import numpy as np

log = logging.getLogger(__name__)

FILE_PATTERN = re.compile(r"^vectors\.g(\d+)\.faiss$")


def set_search_threads(threads: int) -> None:
    """FAISS's OpenMP threads for this process (see ``Settings.search_threads``)."""
    faiss.omp_set_num_threads(threads)
TMP_PREFIX = ".vectors-"
MAGIC = b"FSVEC\x00\x02\n"
# magic, generation, dim, kind, ntotal, high-water id, token, faiss payload bytes, id bytes, sha256
HEADER = struct.Struct("<8sqi8sqq16sqq32s")
READ_CHUNK = 16 << 20

ANN_THRESHOLD = 50_000  # vectors from which the ANN index is used (see the module docstring)
FLAT_BELOW = ANN_THRESHOLD // 2  # an ANN index shrinking below this becomes flat again (hysteresis)
RERANK_MIN = 32  # the ANN returns k + max(k, RERANK_MIN) candidates, re-ranked exactly
MIN_NPROBE = 16
NPROBE_SHARE = 32  # lists probed: nlist / NPROBE_SHARE (at least MIN_NPROBE); chosen by bench/storage.py
TRAIN_PER_LIST = 40  # training vectors per inverted list (FAISS warns below 39)

ExactVectors = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def cache_path(folder: Path, generation: int) -> Path:
    return Path(folder) / f"vectors.g{generation}.faiss"


def ivf_lists(n: int) -> int:
    """Inverted lists for ``n`` vectors: the power of two nearest 2*sqrt(n) (~500 vectors a list
    at 1M), between 64 and 8192."""
    return int(min(8192, max(64, 2 ** round(math.log2(max(1.0, 2 * math.sqrt(n)))))))


def lists_for(n: int) -> int:
    """The lists an index trained for ``n`` vectors gets: :func:`ivf_lists`, fewer if ``n`` is too
    small to train that many."""
    return min(ivf_lists(n), max(1, n // TRAIN_PER_LIST))


def wanted_kind(n: int, current: str) -> str:
    """'flat' or 'ivf' for ``n`` vectors, with hysteresis so a size near the threshold does not flip."""
    if n >= ANN_THRESHOLD:
        return "ivf"
    if current == "ivf" and n >= FLAT_BELOW:
        return "ivf"
    return "flat"


@runtime_checkable
class VectorIndex(Protocol):
    """What :class:`store.index.Index` and the retrievers need of a vector index."""

    dim: int
    kind: str

    @property
    def ntotal(self) -> int: ...

    def ids(self) -> np.ndarray: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray | list[int]) -> None: ...

    def apply(self, remove: np.ndarray | list[int], ids: np.ndarray | list[int], vectors: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def save(self, folder: Path, generation: int, high_water: int = 0, token: str | None = None) -> Path: ...


class _FaissIndex:
    """Shared mechanics: a lock (FAISS indexes are not safe to mutate while searched) and the
    sorted passage ids kept beside FAISS, so ``ids()`` costs nothing and files carry them."""

    kind = "?"

    def __init__(self, dim: int, index: faiss.Index, ids: np.ndarray | None = None):
        self.dim = dim
        self.index = index
        self._ids = np.zeros(0, np.int64) if ids is None else np.asarray(ids, np.int64)
        self.lock = threading.Lock()
        self.token: str | None = None  # of the file it was loaded from
        self.generation = -1  # of the file it was loaded from
        self.high_water = 0  # of the file it was loaded from

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        return self._ids

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.apply((), ids, vectors)

    def remove(self, ids: np.ndarray | list[int]) -> None:
        self.apply(ids, (), np.zeros((0, self.dim), dtype=np.float32))

    def apply(self, remove: np.ndarray | list[int], ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        """Remove some ids and add others as one step: a concurrent search sees all of it or none."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) != len(vectors) or (len(ids) and vectors.shape[1] != self.dim):
            raise ValueError(f"{len(ids)} ids but vectors of shape {vectors.shape} (dim {self.dim})")
        with self.lock:
            kept = self._ids
            if len(remove):
                present = _present(kept, np.unique(np.asarray(remove, dtype=np.int64)))
                if len(present):
                    self.index.remove_ids(present)
                    kept = np.delete(kept, np.searchsorted(kept, present))
            if len(ids):
                if len(np.unique(ids)) != len(ids):
                    raise ValueError("the same passage id twice in one add")
                duplicates = _present(kept, np.sort(ids))
                if len(duplicates):  # replace, never hold an id twice
                    self.index.remove_ids(duplicates)
                    kept = np.delete(kept, np.searchsorted(kept, duplicates))
                self._add(ids, vectors)
                kept = np.union1d(kept, ids) if len(kept) and ids.min() <= kept[-1] else np.concatenate(
                    [kept, np.sort(ids)])
            self._ids = kept

    def _add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.index.add_with_ids(vectors, ids)

    # -- persistence --------------------------------------------------------------------
    def save(self, folder: Path, generation: int, high_water: int = 0, token: str | None = None) -> Path:
        """Write ``vectors.g<generation>.faiss`` atomically and remove the other base files.

        Streams FAISS's own serialisation into the file (no copy of the index in memory).
        """
        folder = Path(folder)
        target = cache_path(folder, generation)
        token = token or new_token()
        remove_stale_temporaries(folder)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(b"\0" * HEADER.size)
                digest = hashlib.sha256()
                written = [0]

                def sink(chunk: bytes) -> int:
                    fh.write(chunk)
                    digest.update(chunk)
                    written[0] += len(chunk)
                    return len(chunk)

                with self.lock:
                    faiss.write_index(self.index, faiss.PyCallbackIOWriter(sink, READ_CHUNK))
                    ids, ntotal = self._ids.copy(), self.ntotal
                id_bytes = ids.astype("<i8").tobytes()
                fh.write(id_bytes)
                digest.update(id_bytes)
                fh.seek(0)
                fh.write(HEADER.pack(MAGIC, generation, self.dim, self.kind.encode(), ntotal, high_water,
                                     bytes.fromhex(token), written[0], len(id_bytes), digest.digest()))
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
        self.token, self.generation, self.high_water = token, generation, high_water
        return target


def _present(sorted_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Those of the sorted ``wanted`` that are in ``sorted_ids`` (binary search: O(k log n), not O(n))."""
    if not len(sorted_ids) or not len(wanted):
        return wanted[:0]
    at = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
    return wanted[sorted_ids[at] == wanted]


class FlatIndex(_FaissIndex):
    """Exact search (fp32, every vector compared): for small indexes."""

    kind = "flat"

    def __init__(self, dim: int, index: faiss.Index | None = None, ids: np.ndarray | None = None):
        super().__init__(dim, index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        with self.lock:
            k = max(1, min(k, self.ntotal))
            scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, ids


class IVFIndex(_FaissIndex):
    """Inverted file over 8-bit codes, candidates re-ranked by their exact vectors."""

    kind = "ivf"

    def __init__(self, dim: int, index: faiss.IndexIVF, ids: np.ndarray | None = None,
                 exact: ExactVectors | None = None, nprobe: int | None = None):
        super().__init__(dim, index, ids)
        self.exact = exact  # (ids) -> (ids found, their fp32 vectors); None: codes' scores as they are
        self.nprobe = nprobe or max(MIN_NPROBE, index.nlist // NPROBE_SHARE)

    @classmethod
    def trained(cls, dim: int, sample: np.ndarray, expected: int) -> IVFIndex:
        """An empty index with lists trained on ``sample`` for about ``expected`` vectors."""
        nlist = min(lists_for(expected), max(1, len(sample) // TRAIN_PER_LIST))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
        index.own_fields = True
        quantizer.this.disown()  # the IVF index owns its quantizer now
        index.cp.niter = 10  # coarse lists need no more; training time matters at 1M
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        return cls(dim, index)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, k)
        wanted = k + max(k, RERANK_MIN) if self.exact is not None else k
        params = faiss.SearchParametersIVF(nprobe=self.nprobe)
        with self.lock:
            wanted = max(1, min(wanted, self.ntotal))
            scores, ids = self.index.search(queries, wanted, params=params)
        if self.exact is None:
            return scores[:, :k], ids[:, :k]
        out_scores = np.full((len(queries), min(k, wanted)), -np.inf, dtype=np.float32)
        out_ids = np.full(out_scores.shape, -1, dtype=np.int64)
        for row, query in enumerate(queries):  # outside the lock: a SQLite read per query
            found, vectors = self.exact(ids[row][ids[row] >= 0])
            exact = vectors @ query
            order = np.argsort(-exact, kind="stable")[: out_scores.shape[1]]
            out_scores[row, : len(order)] = exact[order]
            out_ids[row, : len(order)] = found[order]
        return out_scores, out_ids


def build(dim: int, n: int, chunks: Iterable[tuple[np.ndarray, np.ndarray]], sample: Callable[[int], np.ndarray],
          kind: str | None = None) -> VectorIndex:
    """A new index for ``n`` vectors streamed in (ids, vectors) chunks; ``sample(m)`` returns m
    training vectors (drawn across the whole set) if the index needs training."""
    kind = kind or wanted_kind(n, "flat")
    if kind == "flat":
        index = FlatIndex(dim)
    else:
        lists = ivf_lists(n)
        index = IVFIndex.trained(dim, sample(min(n, lists * TRAIN_PER_LIST)), n)
    for ids, vectors in chunks:
        index.add(ids, vectors)
    return index


# -- loading ------------------------------------------------------------------------------
def read_header_fields(path: Path) -> dict | None:
    """A base file's header by field (cheap: no payload read, nothing verified), or None."""
    with open(path, "rb") as fh:
        raw = fh.read(HEADER.size)
    if len(raw) != HEADER.size or raw[:8] != MAGIC:
        return None
    _, generation, dim, kind, ntotal, high_water, token, faiss_len, ids_len, _ = HEADER.unpack(raw)
    return {"generation": generation, "dim": dim, "kind": kind.rstrip(b"\0").decode("ascii", "replace"),
            "ntotal": ntotal, "high_water": high_water, "token": token.hex()}


def load(folder: Path, generation: int, dim: int, exact: ExactVectors | None = None
         ) -> tuple[VectorIndex | None, str | None]:
    """The base file of exactly this generation, or (None, why not).

    The whole payload's SHA-256 is checked before FAISS reads a byte of it (a damaged size
    field must not make FAISS allocate or read nonsense); FAISS then reads it straight from
    the file, without a copy in Python.
    """
    path = cache_path(folder, generation)
    try:
        fh = open(path, "rb")  # noqa: SIM115 -- closed below, on every path
    except FileNotFoundError:
        return None, f"no vector cache {path.name}"
    except OSError as exc:
        return None, f"cannot read {path.name}: {exc}"
    with fh:
        size = os.fstat(fh.fileno()).st_size
        raw = fh.read(HEADER.size)
        if len(raw) < HEADER.size:
            return None, f"{path.name} is truncated ({len(raw)} bytes)"
        magic, file_generation, file_dim, kind, ntotal, high_water, token, faiss_len, ids_len, digest = (
            HEADER.unpack(raw))
        kind = kind.rstrip(b"\0").decode("ascii", "replace")
        if magic != MAGIC:
            return None, f"{path.name} is not a Fundstelle vector cache of this version (unknown header)"
        if size - HEADER.size != faiss_len + ids_len:
            return None, f"{path.name} is truncated ({size - HEADER.size} of {faiss_len + ids_len} payload bytes)"
        check = hashlib.sha256()
        while chunk := fh.read(READ_CHUNK):
            check.update(chunk)
        if check.digest() != digest:
            return None, f"{path.name} is damaged (checksum mismatch)"
        if file_generation != generation or file_dim != dim:
            return None, f"{path.name} holds generation {file_generation}, dim {file_dim}; expected {generation}, {dim}"
        if kind not in ("flat", "ivf") or ids_len != 8 * ntotal:
            return None, f"{path.name} holds an unknown kind of index ({kind!r}, {ntotal} vectors)"
        fh.seek(HEADER.size)
        try:
            index = faiss.read_index(faiss.PyCallbackIOReader(fh.read, READ_CHUNK))
        except RuntimeError as exc:
            return None, f"{path.name} could not be read by FAISS: {str(exc).splitlines()[0][:200]}"
        fh.seek(HEADER.size + faiss_len)
        ids = np.frombuffer(fh.read(ids_len), dtype="<i8").astype(np.int64)
    expected_type = faiss.IndexIDMap2 if kind == "flat" else faiss.IndexIVFScalarQuantizer
    if not isinstance(index, expected_type) or index.d != dim or index.ntotal != ntotal:
        return None, f"{path.name} does not hold a {kind} index of {ntotal} vectors of dim {dim}"
    if len(ids) > 1 and not (np.diff(ids) > 0).all():
        return None, f"{path.name} holds unsorted or repeated passage ids"
    loaded: _FaissIndex = FlatIndex(dim, index, ids) if kind == "flat" else IVFIndex(dim, index, ids, exact)
    loaded.token, loaded.generation, loaded.high_water = token.hex(), generation, high_water
    return loaded, None


def base_files(folder: Path) -> list[tuple[int, Path]]:
    """(generation, path) of the base files in the folder, newest first."""
    found = [(int(m.group(1)), p) for p in Path(folder).glob("vectors.g*.faiss")
             if (m := FILE_PATTERN.match(p.name))]
    return sorted(found, reverse=True)


def new_token() -> str:
    return secrets.token_hex(16)


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


__all__ = ["ANN_THRESHOLD", "FlatIndex", "IVFIndex", "VectorIndex", "base_files", "build", "cache_path", "load",
           "read_header_fields", "wanted_kind"]
