"""SQLite store: articles, passages (with their vectors and BM25 terms) and index metadata.

SQLite is the source of truth. Every write is one transaction that also bumps the
``generation`` counter; the FAISS file is a cache of the vectors stored here and is
rebuilt from them whenever it does not match (see :mod:`indexer.index`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.documents import Article, Passage
from indexer.errors import Conflict, IndexProblem

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
    heading TEXT, sentences TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_by_doc ON passages(doc_id, ordinal);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0');
"""


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


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        """One connection per thread (the service answers requests from a thread pool)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
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

    def generation(self) -> int:
        return self._generation(self.conn)

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
                    for passage, vector, terms in zip(item.passages, item.vectors, item.terms, strict=True):
                        cur = conn.execute(
                            "INSERT INTO passages (doc_id, ordinal, paragraph, char_start, char_end, heading,"
                            " sentences, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (a.doc_id, passage.ordinal, passage.paragraph, passage.char_start, passage.char_end,
                             passage.heading, json.dumps(passage.sentences),
                             np.asarray(vector, dtype=np.float32).tobytes()),
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

    def fts_mismatch(self, conn: sqlite3.Connection) -> tuple[list[int], list[int]]:
        """(passage ids without lexical terms, lexical rows without a passage)."""
        missing = [r[0] for r in conn.execute(
            "SELECT id FROM passages WHERE id NOT IN (SELECT rowid FROM passages_fts)")]
        orphaned = [r[0] for r in conn.execute(
            "SELECT rowid FROM passages_fts WHERE rowid NOT IN (SELECT id FROM passages)")]
        return missing, orphaned

    def passage_ids(self, conn: sqlite3.Connection | None = None) -> np.ndarray:
        rows = (conn or self.conn).execute("SELECT id FROM passages ORDER BY id").fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

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

    def all_vectors(self, dim: int, conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
        rows = conn.execute("SELECT id, vector FROM passages ORDER BY id").fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.empty((len(rows), dim), dtype=np.float32)
        for n, (pid, blob) in enumerate(rows):
            matrix[n] = _vector(pid, blob, dim)
        return ids, matrix

    def lexical(self, match: str, limit: int) -> list[tuple[int, float]]:
        """BM25 over passage terms; higher is better (FTS5's bm25() is negative)."""
        rows = self.conn.execute(
            "SELECT rowid, -bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ? "
            "ORDER BY bm25(passages_fts) LIMIT ?", (match, limit),
        ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def passages(self, ids: Sequence[int]) -> dict[int, StoredPassage]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            "SELECT p.id, p.doc_id, p.ordinal, p.paragraph, p.char_start, p.char_end, p.heading, p.sentences,"
            " substr(d.text, p.char_start + 1, p.char_end - p.char_start), d.title, d.source, d.published, d.url"
            f" FROM passages p JOIN documents d USING (doc_id) WHERE p.id IN ({marks})", list(ids),
        ).fetchall()
        return {
            r[0]: StoredPassage(r[0], r[1], r[2], r[3], r[4], r[5], r[6], [tuple(s) for s in json.loads(r[7])], r[8],
                                r[9], r[10], r[11], r[12])
            for r in rows
        }

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

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _vector(pid: int, blob: bytes, dim: int) -> np.ndarray:
    if not isinstance(blob, bytes) or len(blob) != dim * 4:
        size = len(blob) if isinstance(blob, bytes | str) else type(blob).__name__
        raise IndexProblem(
            f"passage {pid} has a damaged vector ({size} bytes, expected {dim * 4}); "
            "re-index into a new --index-dir"
        )
    return np.frombuffer(blob, dtype=np.float32)
