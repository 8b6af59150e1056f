"""The SQLite file of an index: one connection per thread, transactions, snapshots and metadata.

SQLite is the source of truth. Every write is one transaction that also bumps the ``generation``
counter; the FAISS file is a cache of the vectors stored here and is rebuilt from them whenever it
does not match (see :mod:`store.index`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from store.bm25 import LexicalStats
from store.schema import ADDED_COLUMNS, SCHEMA, SCHEMA_VERSION


class SQLiteFile:
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

    def upgrade(self) -> bool:
        """Add what an index made before them lacks (the tombstone log, the columns of
        :data:`store.schema.ADDED_COLUMNS`); returns True if it did.

        Additive (a table, a trigger, columns that may be NULL), so the schema version stays: older
        code keeps reading an upgraded index and its deletes are logged by the trigger too.
        """
        changed = False
        for table, column, kind in ADDED_COLUMNS:
            columns = {row["name"] for row in self.conn.execute(f"PRAGMA table_info({table})")}
            if column not in columns:  # NULL: not known for what was stored before (e.g. compute when asked)
                with self.write() as conn:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                changed = True
        if self.conn.execute("SELECT 1 FROM sqlite_master WHERE name='passages_tombstone'").fetchone():
            return changed
        with self.write() as conn:
            self._create_vector_log(conn)
        return True

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

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, conn: sqlite3.Connection, **values: str) -> None:
        conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in values.items()])

    def generation(self, conn: sqlite3.Connection | None = None) -> int:
        """The committed generation (inside ``conn``'s snapshot if given)."""
        return self._generation(conn or self.conn)

    @staticmethod
    def model_fingerprint(conn: sqlite3.Connection) -> str | None:
        """The fingerprint of the model whose vectors the index holds (None until the first write records it)."""
        row = conn.execute("SELECT value FROM meta WHERE key='model_fingerprint'").fetchone()
        return row[0] if row else None

    @staticmethod
    def _generation(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def _bump(self, conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='generation'")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
