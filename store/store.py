"""SQLite store: articles, passages (with their vectors and BM25 terms) and index metadata.

SQLite is the source of truth. Every write is one transaction that also bumps the
``generation`` counter; the FAISS file is a cache of the vectors stored here and is
rebuilt from them whenever it does not match (see :mod:`store.index`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from core.documents import Article, Passage
from core.errors import Conflict, IndexProblem
from store.bm25 import (
    LEXICAL_MAX_FETCH,
    LEXICAL_OVERFETCH,
    STATS_CACHE,
    LexicalStats,
    bm25_scorer,
    fts_any,
    fts_totals,
    rescoring_bound,
    rows_with,
)

SCHEMA_VERSION = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT, published TEXT, url TEXT,
    text TEXT NOT NULL, content_hash TEXT NOT NULL, indexed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, paragraph INTEGER NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
    heading TEXT, sentences TEXT NOT NULL, vector BLOB NOT NULL,
    sentence_vectors BLOB  -- one 8-bit vector per sentence (see pack_sentence_vectors), NULL: compute when asked
);
CREATE INDEX IF NOT EXISTS passages_by_doc ON passages(doc_id, ordinal);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0');
"""
# Deleted passage ids with the generation that deleted them, so a reader (or a vector base file)
# at generation g catches up by reading only what changed since g: rows with an id above its
# high-water mark are new (AUTOINCREMENT never reuses ids), tombstones after g are gone.
# A trigger, so every path that deletes passages (also older code, repairs, cascades) logs them;
# the transaction that deletes also bumps the generation, hence "+ 1".
VECTOR_LOG_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS passage_tombstones (id INTEGER PRIMARY KEY, generation INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS passage_tombstones_by_generation ON passage_tombstones(generation)",
    """CREATE TRIGGER IF NOT EXISTS passages_tombstone AFTER DELETE ON passages BEGIN
    INSERT OR REPLACE INTO passage_tombstones (id, generation)
    VALUES (OLD.id, (SELECT CAST(value AS INTEGER) + 1 FROM meta WHERE key = 'generation'));
END""",
)
VECTOR_CHUNK_ROWS = 50_000  # rows per bulk vector read: ~75 MB of fp32 blobs at dim 384


@dataclass(frozen=True)
class StoredPassage:
    id: int
    doc_id: str
    ordinal: int
    paragraph: int
    char_start: int
    char_end: int
    heading: str | None
    sentences: list[tuple[int, int]]
    text: str
    title: str
    source: str | None
    published: str | None
    url: str | None
    # as stored (see pack_sentence_vectors); None: not stored (an older index)
    packed_sentence_vectors: bytes | None = field(default=None, compare=False, repr=False)
    dim: int = field(default=0, compare=False, repr=False)  # of the index's vectors

    @cached_property
    def sentence_vectors(self) -> np.ndarray | None:
        """One unit row per sentence, unpacked when first asked for: of the ~100 candidates a question
        reads, only the 20 of the evidence pool are. None: not stored (the highlighter embeds them)."""
        return unpack_sentence_vectors(self.packed_sentence_vectors, self.dim)


def pack_sentence_vectors(vectors: np.ndarray) -> bytes:
    """Unit vectors as int8 with one fp16 scale each: a quarter of float32, cosines within ~0.003."""
    vectors = np.asarray(vectors, dtype=np.float32)
    scale = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127
    codes = np.round(vectors / scale[:, None]).astype(np.int8)
    return scale.astype(np.float16).tobytes() + codes.tobytes()


def unpack_sentence_vectors(blob: bytes | None, dim: int) -> np.ndarray | None:
    if not blob or len(blob) % (2 + dim):
        return None
    n = len(blob) // (2 + dim)
    scale = np.frombuffer(blob, dtype=np.float16, count=n).astype(np.float32)
    codes = np.frombuffer(blob, dtype=np.int8, offset=2 * n).reshape(n, dim).astype(np.float32)
    vectors = codes * scale[:, None]
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


@dataclass
class UpsertResult:
    """What one upsert transaction did: each article's status and the passage ids it touched."""

    status: dict[str, str]  # doc_id -> 'added' | 'updated' | 'unchanged'
    passages: dict[str, int]  # doc_id -> passages stored for it now
    removed: list[int]
    added: list[int]
    generation: int


@dataclass(frozen=True)
class Prepared:
    """An article ready to store: its passages, their vectors and their BM25 terms."""

    article: Article
    passages: list[Passage]
    vectors: np.ndarray
    terms: list[list[str]]
    sentence_vectors: list[np.ndarray] | None = None  # per passage, one row per sentence


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._lexical_stats: dict[tuple[int, tuple[str, ...]], LexicalStats] = {}

    @property
    def conn(self) -> sqlite3.Connection:
        """One connection per thread (the service answers requests from a thread pool)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row  # rows are read by column name (positions still work)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def initialise(self) -> None:
        with self.write() as conn:
            for statement in filter(str.strip, SCHEMA.split(";")):
                conn.execute(statement)  # not executescript: it would COMMIT the transaction early
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
            self._create_vector_log(conn)

    # -- the vector change log (tombstones) and the vector base files it vouches for ------
    def _create_vector_log(self, conn: sqlite3.Connection) -> None:
        for statement in VECTOR_LOG_SCHEMA:
            conn.execute(statement)
        # the log is complete for every generation after this one
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('tombstones_since', ?)", (str(self._generation(conn)),))

    def upgrade(self) -> bool:
        """Add what an index made before them lacks (the tombstone log, the sentence vector column);
        returns True if it did.

        Additive (a table and a trigger), so the schema version stays: older code keeps
        working on an upgraded index and its deletes are logged by the trigger too.
        """
        changed = False
        columns = {row["name"] for row in self.conn.execute("PRAGMA table_info(passages)")}
        if "sentence_vectors" not in columns:  # an index from before sentence vectors: NULL = compute when asked
            with self.write() as conn:
                conn.execute("ALTER TABLE passages ADD COLUMN sentence_vectors BLOB")
            changed = True
        if self.conn.execute("SELECT 1 FROM sqlite_master WHERE name='passages_tombstone'").fetchone():
            return changed
        with self.write() as conn:
            self._create_vector_log(conn)
        return True

    def tombstones_since(self, conn: sqlite3.Connection | None = None) -> int:
        """The log holds every passage deleted after this generation (older entries are pruned)."""
        row = (conn or self.conn).execute("SELECT value FROM meta WHERE key='tombstones_since'").fetchone()
        return int(row[0]) if row else 1 << 62

    def high_water(self, conn: sqlite3.Connection | None = None) -> int:
        """The largest passage id ever assigned (AUTOINCREMENT: later rows get larger ids)."""
        row = (conn or self.conn).execute("SELECT seq FROM sqlite_sequence WHERE name='passages'").fetchone()
        return int(row[0]) if row else 0

    def changes_since(self, generation: int, high_water: int, dim: int, conn: sqlite3.Connection
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(gone ids, new ids, their vectors) since a state at ``generation`` whose largest
        passage id was ``high_water``; None if the log does not reach back that far."""
        if generation < self.tombstones_since(conn):
            return None
        gone = np.fromiter((r[0] for r in conn.execute(
            "SELECT id FROM passage_tombstones WHERE generation > ? AND id <= ? ORDER BY id",
            (generation, high_water))), dtype=np.int64)
        chunks = list(self.vector_chunks(dim, conn, after=high_water))
        fresh = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.int64)
        vectors = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros((0, dim), np.float32)
        return gone, fresh, vectors

    def changed_since(self, generation: int, high_water: int, conn: sqlite3.Connection | None = None) -> int:
        """How many passages were added or deleted since that state (cheap: two index lookups)."""
        conn = conn or self.conn
        gone = conn.execute("SELECT COUNT(*) FROM passage_tombstones WHERE generation > ? AND id <= ?",
                            (generation, high_water)).fetchone()[0]
        fresh = conn.execute("SELECT COUNT(*) FROM passages WHERE id > ?", (high_water,)).fetchone()[0]
        return int(gone) + int(fresh)

    def vector_bases(self, conn: sqlite3.Connection | None = None) -> dict[str, int]:
        """{token: generation} of the vector base files this store vouches for."""
        row = (conn or self.conn).execute("SELECT value FROM meta WHERE key='vector_bases'").fetchone()
        return {token: int(generation) for token, generation in json.loads(row[0])} if row else {}

    def vouch_for_vector_base(self, token: str, generation: int, keep: int = 2) -> None:
        """Record a base file's token *before* the file is renamed into place, keeping the
        previous one too: a crash on either side of the rename leaves a base the store knows.
        A store restored from a backup does not know the newer files, and rebuilds."""
        with self.write() as conn:
            known = [[t, g] for t, g in self.vector_bases(conn).items() if t != token]
            self.set_meta(conn, vector_bases=json.dumps([[token, generation], *known][:keep]))

    def prune_tombstones(self, up_to_generation: int) -> None:
        """Forget deletions no base file or reader needs (readers behind this generation do a
        full id comparison instead)."""
        with self.write() as conn:
            if up_to_generation <= self.tombstones_since(conn):
                return
            conn.execute("DELETE FROM passage_tombstones WHERE generation <= ?", (up_to_generation,))
            self.set_meta(conn, tombstones_since=str(up_to_generation))

    def exists(self) -> bool:
        if not self.path.exists():
            return False
        row = self.conn.execute("SELECT name FROM sqlite_master WHERE name='meta'").fetchone()
        return row is not None

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: all of it lands, or none of it (also on SIGKILL)."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A consistent read view across several queries (re-entrant: inside a transaction,
        the queries simply join it)."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # -- metadata -----------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, conn: sqlite3.Connection, **values: str) -> None:
        conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in values.items()])

    def generation(self, conn: sqlite3.Connection | None = None) -> int:
        """The committed generation (inside ``conn``'s snapshot if given)."""
        return self._generation(conn or self.conn)

    @staticmethod
    def _generation(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def _bump(self, conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='generation'")

    # -- writes -------------------------------------------------------------------------
    def content_hashes(self, doc_ids: Sequence[str]) -> dict[str, str]:
        return self._hashes(self.conn, doc_ids)

    @staticmethod
    def _hashes(conn: sqlite3.Connection, doc_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        doc_ids = list(dict.fromkeys(doc_ids))
        for i in range(0, len(doc_ids), 500):
            chunk = doc_ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(conn.execute(
                f"SELECT doc_id, content_hash FROM documents WHERE doc_id IN ({marks})", chunk
            ).fetchall())
        return out

    def _delete(self, conn: sqlite3.Connection, doc_ids: Sequence[str]) -> list[int]:
        removed: list[int] = []
        for doc_id in doc_ids:
            ids = [r[0] for r in conn.execute("SELECT id FROM passages WHERE doc_id=?", (doc_id,))]
            conn.executemany("DELETE FROM passages_fts WHERE rowid=?", [(i,) for i in ids])
            conn.execute("DELETE FROM passages WHERE doc_id=?", (doc_id,))
            conn.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
            removed.extend(ids)
        return removed

    def upsert(self, batch: Sequence[Prepared], meta: dict[str, str] | None = None,
               create_only: bool = False) -> UpsertResult:
        """Replace these articles in one transaction.

        The stored content hashes are read again inside the transaction, so an article that
        some other writer stored meanwhile with the same content is left alone ('unchanged'),
        and with ``create_only`` an article stored meanwhile with *other* content raises
        :class:`Conflict` (nothing of the batch is written). The generation is bumped only
        when something changed.
        """
        removed: list[int] = []
        added: list[int] = []
        status: dict[str, str] = {}
        passages: dict[str, int] = {}
        with self.write() as conn:
            current = self._hashes(conn, [p.article.doc_id for p in batch])
            changed = []
            for item in batch:
                doc_id, digest = item.article.doc_id, item.article.content_hash()
                if current.get(doc_id) == digest:
                    status[doc_id] = "unchanged"
                    passages[doc_id] = conn.execute("SELECT COUNT(*) FROM passages WHERE doc_id=?",
                                                    (doc_id,)).fetchone()[0]
                    continue
                if create_only and doc_id in current:
                    raise Conflict(f"doc_id {doc_id!r} exists with other content; use PUT to replace it")
                status[doc_id] = "updated" if doc_id in current else "added"
                changed.append(item)
            if changed:
                if meta:
                    self._check_model(conn, meta)
                    self.set_meta(conn, **meta)
                removed = self._delete(conn, [p.article.doc_id for p in changed])
                now = time.time()
                for item in changed:
                    a = item.article
                    if len(item.passages) != len(item.vectors) or len(item.passages) != len(item.terms):
                        raise ValueError(f"{a.doc_id}: passages, vectors and terms differ in number")
                    conn.execute(
                        "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (a.doc_id, a.title, a.source, a.published, a.url, a.text, a.content_hash(), now),
                    )
                    sentence_vectors = item.sentence_vectors or [None] * len(item.passages)
                    for passage, vector, terms, sentences in zip(item.passages, item.vectors, item.terms,
                                                                 sentence_vectors, strict=True):
                        cur = conn.execute(
                            "INSERT INTO passages (doc_id, ordinal, paragraph, char_start, char_end, heading,"
                            " sentences, vector, sentence_vectors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (a.doc_id, passage.ordinal, passage.paragraph, passage.char_start, passage.char_end,
                             passage.heading, json.dumps(passage.sentences),
                             np.asarray(vector, dtype=np.float32).tobytes(),
                             pack_sentence_vectors(sentences) if sentences is not None and len(sentences) else None),
                        )
                        conn.execute("INSERT INTO passages_fts (rowid, terms) VALUES (?, ?)",
                                     (cur.lastrowid, " ".join(terms)))
                        added.append(cur.lastrowid)
                    passages[a.doc_id] = len(item.passages)
                self._bump(conn)
            generation = self._generation(conn)
        return UpsertResult(status=status, passages=passages, removed=removed, added=added, generation=generation)

    @staticmethod
    def _check_model(conn: sqlite3.Connection, meta: dict[str, str]) -> None:
        """Another process may have written the first vectors since this one opened the index."""
        row = conn.execute("SELECT value FROM meta WHERE key='model_fingerprint'").fetchone()
        if row and meta.get("model_fingerprint") and row[0] != meta["model_fingerprint"]:
            raise IndexProblem(
                f"the index was built with model fingerprint {row[0]}, this process embeds with "
                f"{meta['model_fingerprint']}: set FUNDSTELLE_MODEL to the index's model"
            )

    def delete(self, doc_ids: Sequence[str]) -> tuple[list[str], list[int]]:
        """Delete articles in one transaction; returns (deleted doc_ids, removed passage ids)."""
        with self.write() as conn:
            present = [d for d in doc_ids if conn.execute("SELECT 1 FROM documents WHERE doc_id=?", (d,)).fetchone()]
            removed = self._delete(conn, present)
            if present:
                self._bump(conn)
        return present, removed

    # -- reads --------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        with self.snapshot() as conn:
            docs = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            passages = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        return docs, passages

    def problems(self, conn: sqlite3.Connection | None = None) -> list[str]:
        """Disagreements inside the store (there should be none: every write is one transaction)."""
        conn = conn or self.conn
        out = []
        missing, orphaned = self.fts_mismatch(conn)
        if missing:
            out.append(f"{len(missing)} passages have no lexical (FTS) row")
        if orphaned:
            out.append(f"{len(orphaned)} lexical (FTS) rows belong to no passage")
        orphans = conn.execute(
            "SELECT COUNT(*) FROM passages p LEFT JOIN documents d USING (doc_id) WHERE d.doc_id IS NULL"
        ).fetchone()[0]
        if orphans:
            out.append(f"{orphans} passages belong to no document")
        return out

    def probably_in_step(self, conn: sqlite3.Connection | None = None) -> bool:
        """A cheap pre-check for :meth:`problems` (run on every open): the passage ids and the
        lexical rows' ids agree in count, sum and a hashed sum, and no passage lacks its document.

        Two covering scans of integer keys instead of set differences over the FTS table (which
        take seconds at a million passages); any disagreement means: run the full check.
        """
        conn = conn or self.conn
        fingerprint = "COUNT(*), TOTAL(id), TOTAL((id * 2654435761) % 4294967311)"
        passages = conn.execute(f"SELECT {fingerprint} FROM passages").fetchone()
        lexical = conn.execute(f"SELECT {fingerprint} FROM passages_fts_docsize").fetchone()
        if passages != lexical:
            return False
        return not conn.execute(
            "SELECT 1 FROM passages p LEFT JOIN documents d USING (doc_id) WHERE d.doc_id IS NULL LIMIT 1"
        ).fetchone()

    def fts_mismatch(self, conn: sqlite3.Connection) -> tuple[list[int], list[int]]:
        """(passage ids without lexical terms, lexical rows without a passage)."""
        missing = [r[0] for r in conn.execute(
            "SELECT id FROM passages WHERE id NOT IN (SELECT rowid FROM passages_fts)")]
        orphaned = [r[0] for r in conn.execute(
            "SELECT rowid FROM passages_fts WHERE rowid NOT IN (SELECT id FROM passages)")]
        return missing, orphaned

    def passage_ids(self, conn: sqlite3.Connection | None = None) -> np.ndarray:
        cursor = (conn or self.conn).execute("SELECT id FROM passages ORDER BY id")
        return np.fromiter((r[0] for r in cursor), dtype=np.int64)

    def passage_count(self, conn: sqlite3.Connection | None = None) -> int:
        return int((conn or self.conn).execute("SELECT COUNT(*) FROM passages").fetchone()[0])

    def repair_lexical(self) -> None:
        """Drop passages of no document and bring the lexical (FTS) rows back in line with the
        passages, in one transaction that bumps the generation (call under the write lock)."""
        from text.inputs import lexical_input  # here, not at the top: inputs is not a store concern

        with self.write() as conn:
            conn.execute("DELETE FROM passages WHERE doc_id NOT IN (SELECT doc_id FROM documents)")
            missing, orphaned = self.fts_mismatch(conn)
            conn.executemany("DELETE FROM passages_fts WHERE rowid=?", [(i,) for i in orphaned])
            for pid, p in self.passages(missing).items():
                conn.execute("INSERT INTO passages_fts (rowid, terms) VALUES (?, ?)",
                             (pid, " ".join(lexical_input(p.title, p.heading, p.text))))
            self._bump(conn)

    def vectors(self, ids: np.ndarray, dim: int, conn: sqlite3.Connection | None = None) -> np.ndarray:
        conn = conn or self.conn
        out = np.empty((len(ids), dim), dtype=np.float32)
        wanted = {int(i): n for n, i in enumerate(ids)}
        id_list = list(wanted)
        found = 0
        for start in range(0, len(id_list), 900):
            chunk = id_list[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for pid, blob in conn.execute(f"SELECT id, vector FROM passages WHERE id IN ({marks})", chunk):
                out[wanted[pid]] = _vector(pid, blob, dim)
                found += 1
        if found != len(wanted):
            raise IndexProblem(f"{len(wanted) - found} of {len(wanted)} passage vectors vanished while reading")
        return out

    def present_vectors(self, ids: np.ndarray, dim: int, conn: sqlite3.Connection | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of those of ``ids`` that exist (in ``conn``'s snapshot), in no set order."""
        conn = conn or self.conn
        found, blobs = [], []
        id_list = [int(i) for i in ids]
        for start in range(0, len(id_list), 900):
            chunk = id_list[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for pid, blob in conn.execute(f"SELECT id, vector FROM passages WHERE id IN ({marks})", chunk):
                found.append(pid)
                blobs.append(blob)
        return np.array(found, dtype=np.int64), _matrix(found, blobs, dim)

    def vector_chunks(self, dim: int, conn: sqlite3.Connection, after: int = 0,
                      rows: int = VECTOR_CHUNK_ROWS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All vectors with ids above ``after`` in id order, as (ids, matrix) chunks: one blob
        join and one ``np.frombuffer`` per chunk instead of a Python step per row."""
        while True:
            batch = conn.execute("SELECT id, vector FROM passages WHERE id > ? ORDER BY id LIMIT ?",
                                 (after, rows)).fetchall()
            if not batch:
                return
            ids = [r[0] for r in batch]
            yield np.array(ids, dtype=np.int64), _matrix(ids, [r[1] for r in batch], dim)
            after = ids[-1]

    def all_vectors(self, dim: int, conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
        chunks = list(self.vector_chunks(dim, conn))
        if not chunks:
            return np.zeros(0, np.int64), np.zeros((0, dim), np.float32)
        return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])

    def lexical(self, match: str, limit: int, where: str | None = None, params: Sequence = ()
                ) -> list[tuple[int, float]]:
        """BM25 over passage terms; higher is better (FTS5's bm25() is negative).

        ``where``: a SQL condition over ``passages p JOIN documents d`` (with its ``params``) that
        restricts the matches before ranking, so a narrow filter still gets its best ``limit``.
        """
        if where is None:
            rows = self.conn.execute(
                "SELECT rowid, -bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ? "
                "ORDER BY bm25(passages_fts) LIMIT ?", (match, limit),
            ).fetchall()
        else:
            rows = self.conn.execute(
                "SELECT passages_fts.rowid, -bm25(passages_fts) FROM passages_fts"
                " JOIN passages p ON p.id = passages_fts.rowid JOIN documents d ON d.doc_id = p.doc_id"
                f" WHERE passages_fts MATCH ? AND ({where}) ORDER BY bm25(passages_fts) LIMIT ?",
                (match, *params, limit),
            ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def lexical_stats(self, terms: Sequence[str]) -> LexicalStats:
        """This table's BM25 statistics for ``terms``, as bm25() computes them (in one snapshot).

        Rows and tokens come from FTS5's totals record, which bm25() itself reads (O(1)); a term's rows
        from a count of its MATCH, which is how bm25() counts a phrase's rows (one walk over the term's
        doclist, as an fts5vocab lookup would take; exact also for a term the tokenizer splits).
        """
        terms = tuple(terms)
        with self.snapshot() as conn:
            key = (self._generation(conn), terms)
            stats = self._lexical_stats.get(key)
            if stats is None:
                passages, tokens = fts_totals(conn)
                containing = {t: rows_with(conn, t) for t in terms}
                stats = LexicalStats(passages, tokens, containing)
                if len(self._lexical_stats) >= STATS_CACHE:
                    self._lexical_stats.clear()
                self._lexical_stats[key] = stats
        return stats

    def lexical_rescored(self, terms: Sequence[str], stats: LexicalStats, limit: int, where: str | None = None,
                         params: Sequence = ()) -> list[tuple[int, float]]:
        """As :meth:`lexical` for the MATCH of ``terms``, scored with ``stats`` (an archive's) instead of
        this table's own: this shard's best ``limit`` as one index of the whole archive ranks them.

        Reads the best rows by local BM25 (``LEXICAL_OVERFETCH`` per wanted one), scores them again from
        their stored terms, and reads more while a row beyond them could still score into the best
        ``limit`` (:func:`store.bm25.rescoring_bound`). Call it inside a snapshot.
        """
        match = fts_any(terms)
        if not stats.passages:  # an archive that was empty when asked (it got its first passages since)
            return self.lexical(match, limit, where, params)
        score = bm25_scorer(terms, stats)
        fetch = limit * LEXICAL_OVERFETCH
        while True:
            local = self.lexical(match, fetch, where, params)
            rows = self._fts_rows([pid for pid, _ in local])
            scored = sorted(((pid, score(rows[pid])) for pid, _ in local if pid in rows), key=lambda c: -c[1])
            if len(local) < fetch or fetch >= LEXICAL_MAX_FETCH:
                break  # every match is scored (or the most this may read)
            bound = rescoring_bound(local[-1][1], terms, self.lexical_stats(terms), stats)
            if len(scored) >= limit and scored[limit - 1][1] > bound * (1 + 1e-9):
                break  # no row left unread can beat the last one kept
            fetch = min(fetch * LEXICAL_OVERFETCH, LEXICAL_MAX_FETCH)
        return scored[:limit]

    def _fts_rows(self, ids: Sequence[int]) -> dict[int, str]:
        """The stored terms (one string) of these FTS rows."""
        out: dict[int, str] = {}
        for start in range(0, len(ids), 900):
            chunk = list(ids[start : start + 900])
            marks = ",".join("?" * len(chunk))
            out.update(self.conn.execute(f"SELECT rowid, terms FROM passages_fts WHERE rowid IN ({marks})", chunk))
        return out

    PASSAGE_COLUMNS = (
        "SELECT p.id, p.doc_id, p.ordinal, p.paragraph, p.char_start, p.char_end, p.heading, p.sentences,"
        " d.title, d.source, d.published, d.url, p.sentence_vectors, length(p.vector) / 4 AS dim"
        " FROM passages p JOIN documents d USING (doc_id)"
    )

    @staticmethod
    def _passage(row: sqlite3.Row, article_text: str) -> StoredPassage:
        return StoredPassage(
            id=row["id"], doc_id=row["doc_id"], ordinal=row["ordinal"], paragraph=row["paragraph"],
            char_start=row["char_start"], char_end=row["char_end"], heading=row["heading"],
            sentences=[tuple(s) for s in json.loads(row["sentences"])],
            text=article_text[row["char_start"] : row["char_end"]], title=row["title"],
            source=row["source"], published=row["published"], url=row["url"],
            packed_sentence_vectors=row["sentence_vectors"], dim=row["dim"],
        )

    def _read_passages(self, where: str, params: Sequence) -> list[StoredPassage]:
        """The passages ``where`` selects, their texts cut from each article's text read once: SQLite's
        substr() walks an article's text from its start for every passage (100 candidates from 37 KB
        Wikipedia articles: 9 ms, against 4 ms this way)."""
        with self.snapshot() as conn:  # the offsets and the texts they point into from one version
            rows = conn.execute(f"{self.PASSAGE_COLUMNS} WHERE {where}", params).fetchall()
            doc_ids = list({row["doc_id"] for row in rows})
            texts = dict(conn.execute(f"SELECT doc_id, text FROM documents WHERE doc_id IN "
                                      f"({','.join('?' * len(doc_ids))})", doc_ids).fetchall()) if rows else {}
        return [self._passage(row, texts[row["doc_id"]]) for row in rows]

    def passages(self, ids: Sequence[int]) -> dict[int, StoredPassage]:
        if not ids:
            return {}
        return {p.id: p for p in self._read_passages(f"p.id IN ({','.join('?' * len(ids))})", list(ids))}

    def neighbours(self, passage: StoredPassage) -> tuple[StoredPassage | None, StoredPassage | None]:
        """The passages right before and after ``passage`` in its article (None at either end)."""
        found = {p.ordinal: p for p in self._read_passages("p.doc_id = ? AND p.ordinal IN (?, ?)",
                                                            (passage.doc_id, passage.ordinal - 1, passage.ordinal + 1))}
        return found.get(passage.ordinal - 1), found.get(passage.ordinal + 1)

    def text_span(self, doc_id: str, start: int, end: int) -> str | None:
        """``text[start:end]`` of an article, read in SQLite (the article itself may be long)."""
        row = self.conn.execute("SELECT substr(text, ? + 1, ? - ?) AS span FROM documents WHERE doc_id = ?",
                                (start, end, start, doc_id)).fetchone()
        return row["span"] if row else None

    def document(self, doc_id: str) -> dict | None:
        with self.snapshot() as conn:  # the text and its passage offsets from the same version
            row = conn.execute(
                "SELECT doc_id, title, source, published, url, text FROM documents WHERE doc_id=?", (doc_id,)
            ).fetchone()
            if row is None:
                return None
            keys = ("doc_id", "title", "source", "published", "url", "text")
            doc = dict(zip(keys, row, strict=True))
            doc["passages"] = [
                {"passage_id": r[0], "paragraph": r[1], "char_start": r[2], "char_end": r[3]}
                for r in conn.execute(
                    "SELECT id, paragraph, char_start, char_end FROM passages WHERE doc_id=? ORDER BY ordinal",
                    (doc_id,),
                )
            ]
        return doc

    def documents(self, offset: int, limit: int) -> list[dict]:
        keys = ("doc_id", "title", "source", "published", "url", "passages")
        rows = self.conn.execute(
            "SELECT d.doc_id, d.title, d.source, d.published, d.url,"
            " (SELECT COUNT(*) FROM passages p WHERE p.doc_id = d.doc_id)"
            " FROM documents d ORDER BY d.published IS NULL, d.published DESC, d.doc_id LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def page(self, offset: int, limit: int) -> tuple[int, list[dict]]:
        """The number of articles and one page of them, from the same version of the store."""
        with self.snapshot() as conn:
            total = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            return total, self.documents(offset, limit)

    def sources(self) -> list[tuple[str, int, str | None, str | None]]:
        """(source, articles, first and last ISO publication day) per stored source spelling;
        articles without a source are left out. Dates that are not ISO count as no date."""
        day = "CASE WHEN published GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' THEN substr(published, 1, 10) END"
        return [(r[0], int(r[1]), r[2], r[3]) for r in self.conn.execute(
            f"SELECT source, COUNT(*), MIN({day}), MAX({day}) FROM documents"
            " WHERE source IS NOT NULL AND trim(source) != '' GROUP BY source"
        )]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _matrix(ids: Sequence[int], blobs: list[bytes], dim: int) -> np.ndarray:
    """Rows of float32 blobs as one matrix; a blob of the wrong size is named by its passage id."""
    width = dim * 4
    if any(not isinstance(b, bytes) or len(b) != width for b in blobs):
        bad = next(n for n, b in enumerate(blobs) if not isinstance(b, bytes) or len(b) != width)
        _vector(ids[bad], blobs[bad], dim)  # raises the clear message
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim)


def _vector(pid: int, blob: bytes, dim: int) -> np.ndarray:
    if not isinstance(blob, bytes) or len(blob) != dim * 4:
        size = len(blob) if isinstance(blob, bytes | str) else type(blob).__name__
        raise IndexProblem(
            f"passage {pid} has a damaged vector ({size} bytes, expected {dim * 4}); "
            "re-index into a new --index-dir"
        )
    return np.frombuffer(blob, dtype=np.float32)
