"""BM25 over the passages' terms with SQLite FTS5: the index's own statistics, or a sharded archive's."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

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


class Lexical:
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

    def rescored(self, candidates: Sequence[int], terms: Sequence[str], stats: LexicalStats, limit: int
                 ) -> list[tuple[int, float]]:
        """The best ``limit`` of ``candidates`` (passage ids) by FTS5's exact bm25() for a MATCH of ``terms``
        with ``stats`` (this index's, or a sharded archive's), from their stored terms: the lexical index's
        scores are close to FTS5's but not equal (it quantises passage lengths, and a shard normalises them
        by its own average), so its over-fetched candidates are scored again here; one index and any
        number of shards then give the same scores, and the same ones FTS5 gives."""
        if not stats.passages:
            return []
        score = bm25_scorer(terms, stats)
        rows = self._fts_rows(list(candidates))
        scored = sorted(((pid, score(rows[pid])) for pid in candidates if pid in rows), key=lambda c: (-c[1], c[0]))
        return [(pid, s) for pid, s in scored if s > 0][:limit]

    def _fts_rows(self, ids: Sequence[int]) -> dict[int, str]:
        """The stored terms (one string) of these FTS rows."""
        out: dict[int, str] = {}
        for start in range(0, len(ids), 900):
            chunk = list(ids[start : start + 900])
            marks = ",".join("?" * len(chunk))
            out.update(self.conn.execute(f"SELECT rowid, terms FROM passages_fts WHERE rowid IN ({marks})", chunk))
        return out

    def fts_mismatch(self, conn: sqlite3.Connection) -> tuple[list[int], list[int]]:
        """(passage ids without lexical terms, lexical rows without a passage)."""
        missing = [r[0] for r in conn.execute(
            "SELECT id FROM passages WHERE id NOT IN (SELECT rowid FROM passages_fts)")]
        orphaned = [r[0] for r in conn.execute(
            "SELECT rowid FROM passages_fts WHERE rowid NOT IN (SELECT id FROM passages)")]
        return missing, orphaned

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
        self._written()
