"""Reads: passages with their article's metadata, vectors, neighbours, articles, pages and outlets."""

from __future__ import annotations

import json
import sqlite3
from bisect import bisect_right
from collections.abc import Iterator, Sequence

import numpy as np

from core.errors import IndexProblem
from core.filters import Filters
from store.filters import prepare
from store.filters import where as filter_condition
from store.types import StoredPassage

VECTOR_CHUNK_ROWS = 50_000  # rows per bulk vector read: ~75 MB of fp32 blobs at dim 384


class Reads:
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

    def passage_ids(self, conn: sqlite3.Connection | None = None) -> np.ndarray:
        cursor = (conn or self.conn).execute("SELECT id FROM passages ORDER BY id")
        return np.fromiter((r[0] for r in cursor), dtype=np.int64)

    def passage_count(self, conn: sqlite3.Connection | None = None) -> int:
        return int((conn or self.conn).execute("SELECT COUNT(*) FROM passages").fetchone()[0])

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

    PASSAGE_COLUMNS = (
        "SELECT p.id, p.doc_id, p.ordinal, p.paragraph, p.char_start, p.char_end, p.heading, p.sentences,"
        " d.title, d.source, d.published, d.url, d.author, d.pages, p.sentence_vectors, length(p.vector) / 4 AS dim"
        " FROM passages p JOIN documents d USING (doc_id)"
    )

    @staticmethod
    def _passage(row: sqlite3.Row, article_text: str) -> StoredPassage:
        return StoredPassage(
            id=row["id"], doc_id=row["doc_id"], ordinal=row["ordinal"], paragraph=row["paragraph"],
            char_start=row["char_start"], char_end=row["char_end"], heading=row["heading"],
            sentences=[tuple(s) for s in json.loads(row["sentences"])],
            text=article_text[row["char_start"] : row["char_end"]], title=row["title"],
            source=row["source"], published=row["published"], url=row["url"], author=row["author"],
            pages=tuple(json.loads(row["pages"])) if row["pages"] else (),
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
        """An article with its metadata, its passages (with their page, for a PDF) and ``prose``: the
        spans of ``text`` that are the article's prose (what cleaning kept; passages cover them), as
        [start, end] pairs; the rest (datelines, bylines, teasers, comments) is not."""
        with self.snapshot() as conn:  # the text and its passage offsets from the same version
            row = conn.execute(
                "SELECT doc_id, title, source, published, url, author, place, pages, text FROM documents"
                " WHERE doc_id=?", (doc_id,)
            ).fetchone()
            if row is None:
                return None
            doc = {key: row[key] for key in ("doc_id", "title", "source", "published", "url", "author", "place", "text")}
            pages = json.loads(row["pages"]) if row["pages"] else []
            rows = conn.execute("SELECT id, paragraph, char_start, char_end, heading FROM passages WHERE doc_id=?"
                                " ORDER BY ordinal", (doc_id,)).fetchall()
        doc["passages"] = [{"passage_id": r[0], "paragraph": r[1], "char_start": r[2], "char_end": r[3],
                            "page": bisect_right(pages, r[2]) if pages else None} for r in rows]
        doc["prose"] = prose_spans(doc["text"], [(r[2], r[3], r[4]) for r in rows])
        return doc

    def documents(self, offset: int, limit: int, where: str | None = None, params: Sequence = ()) -> list[dict]:
        """One page of article metadata, newest first. ``where``: a SQL condition over the article ``d``
        (with its ``params``; :func:`store.filters.where` builds it from a question's filters)."""
        keys = ("doc_id", "title", "source", "published", "url", "author", "passages")
        rows = self.conn.execute(
            "SELECT d.doc_id, d.title, d.source, d.published, d.url, d.author,"
            " (SELECT COUNT(*) FROM passages p WHERE p.doc_id = d.doc_id)"
            f" FROM documents d WHERE {where or '1'}"
            " ORDER BY d.published IS NULL, d.published DESC, d.doc_id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def page(self, offset: int, limit: int, filters: Filters | None = None) -> tuple[int, list[dict]]:
        """The number of articles (that ``filters`` allow) and one page of them, from the same version of the store."""
        where, params = None, ()
        if filters is not None and filters.active:
            prepare(self.conn)  # the case-folding SQL function that a sources condition calls
            where, params = filter_condition(filters)
        with self.snapshot() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM documents d WHERE {where or '1'}", params).fetchone()[0]
            return total, self.documents(offset, limit, where, params)

    def sources(self) -> list[tuple[str, int, str | None, str | None]]:
        """(source, articles, first and last ISO publication day) per stored source spelling;
        articles without a source are left out. Dates that are not ISO count as no date."""
        day = "CASE WHEN published GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' THEN substr(published, 1, 10) END"
        return [(r[0], int(r[1]), r[2], r[3]) for r in self.conn.execute(
            f"SELECT source, COUNT(*), MIN({day}), MAX({day}) FROM documents"
            " WHERE source IS NOT NULL AND trim(source) != '' GROUP BY source"
        )]


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


def prose_spans(text: str, passages: list[tuple[int, int, str | None]]) -> list[list[int]]:
    """The passages' ranges ``(start, end, heading)``, merged where only blank space, or the section heading
    of the next passage, lies between them: the article's prose as cleaning kept it. Other text between two
    spans (and before the first, after the last) was left out."""
    spans: list[list[int]] = []
    for start, end, heading in sorted(passages):
        gap = text[spans[-1][1] : start].strip() if spans else None
        if spans and (start <= spans[-1][1] or not gap or (heading and " ".join(gap.split()) == " ".join(heading.split()))):
            spans[-1][1] = max(spans[-1][1], end)
        elif heading and (at := text.rfind(heading.strip(), spans[-1][1] if spans else 0, start)) >= 0 \
                and not text[at + len(heading.strip()) : start].strip():
            spans.append([at, end])  # the heading right above the first passage of a section is prose too
        else:
            spans.append([start, end])
    return spans
