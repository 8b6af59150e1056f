"""The log of deleted passages (tombstones) and the vector base files the store vouches for: what
lets a FAISS cache written at one generation catch up with the store by reading only what changed."""

from __future__ import annotations

import json
import sqlite3

import numpy as np

from store.schema import VECTOR_LOG_SCHEMA


class VectorLog:
    def _create_vector_log(self, conn: sqlite3.Connection) -> None:
        for statement in VECTOR_LOG_SCHEMA:
            conn.execute(statement)
        # the log is complete for every generation after this one
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('tombstones_since', ?)", (str(self._generation(conn)),))

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
