"""Writes: articles replaced or deleted in one transaction each, never half."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence

import numpy as np

from core.errors import Conflict, IndexProblem
from store.sqlite import SQLiteFile
from store.types import Prepared, UpsertResult, pack_sentence_vectors


class Writes:
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
                        "INSERT INTO documents (doc_id, title, source, published, url, text, content_hash,"
                        " indexed_at, author, place, pages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (a.doc_id, a.title, a.source, a.published, a.url, a.text, a.content_hash(), now,
                         a.author, a.place, json.dumps(list(a.pages)) if a.pages else None),
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
        if changed:
            self._written()
        return UpsertResult(status=status, passages=passages, removed=removed, added=added, generation=generation)

    @staticmethod
    def _check_model(conn: sqlite3.Connection, meta: dict[str, str]) -> None:
        """Another process may have written the first vectors since this one opened the index."""
        recorded = SQLiteFile.model_fingerprint(conn)
        if recorded and meta.get("model_fingerprint") and recorded != meta["model_fingerprint"]:
            raise IndexProblem(
                f"the index was built with model fingerprint {recorded}, this process embeds with "
                f"{meta['model_fingerprint']}: set FUNDSTELLE_MODEL to the index's model"
            )

    def delete(self, doc_ids: Sequence[str]) -> tuple[list[str], list[int]]:
        """Delete articles in one transaction; returns (deleted doc_ids, removed passage ids)."""
        with self.write() as conn:
            present = [d for d in doc_ids if conn.execute("SELECT 1 FROM documents WHERE doc_id=?", (d,)).fetchone()]
            removed = self._delete(conn, present)
            if present:
                self._bump(conn)
        if present:
            self._written()
        return present, removed

    def _written(self) -> None:
        """A write committed: a second index kept in step with the store (the index's lexical index,
        :mod:`store.lexical_index`) catches up now, from what SQLite holds."""
        hook = getattr(self, "after_write", None)
        if hook is not None:
            hook()
