"""Helpers for the durability tests: open an index as a fresh process would and check it whole."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np

from core.settings import Settings
from indexer.ingest.schema import ArticleIn
from indexer.pipeline import passages_of
from retrieval.query import Mode, analyse
from store.index import DB_NAME, Index


def store_generation(folder: Path) -> int:
    """The committed generation, read the way another process would (no locks taken)."""
    try:
        with closing(sqlite3.connect(f"file:{folder / DB_NAME}?mode=ro", uri=True, timeout=5)) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
            return int(row[0]) if row else 0
    except sqlite3.Error:
        return 0


def expected_passages(item: dict) -> int:
    """How many passages the pipeline makes of this article (cleaning and chunking only)."""
    return len(passages_of(ArticleIn.model_validate(item).to_article(), Settings()))


def verify_index(folder: Path, embedder, articles: dict[str, dict] | None = None) -> dict[str, int]:
    """Open the index, assert that FAISS, SQLite and the id mapping agree and that every stored
    article is complete and findable; returns {doc_id: passages}."""
    index = Index.open(folder, embedder)
    try:
        assert index.check() == [], index.check()
        _, passages = index.counts()
        assert index.vectors.ntotal == passages
        conn = index.store.conn
        stored = dict(conn.execute(
            "SELECT d.doc_id, COUNT(p.id) FROM documents d LEFT JOIN passages p USING (doc_id) GROUP BY d.doc_id"))
        for doc_id, count in stored.items():
            assert count > 0, f"{doc_id} has no passages"
            if articles is None or doc_id not in articles:
                continue
            item = articles[doc_id]
            document = index.store.document(doc_id)
            assert document["text"] == item["text"] and document["title"] == item["title"]
            assert count == expected_passages(item), f"{doc_id} is incomplete"
            # the lexical side finds it by its code word, the dense side maps its vectors back to it
            code = item["title"].rsplit("(", 1)[-1].rstrip(")")
            query = analyse(code, None, Mode.LEXICAL)
            hits = {pid for pid, _ in index.store.lexical(query.fts_match(), 10)}
            ids = {p["passage_id"] for p in document["passages"]}
            assert ids <= hits, f"{doc_id}: lexical search misses passages"
            if index.lexical is not None:  # the lexical index too (check() saw it at the store's generation)
                found = {pid for pid, _ in index.lexical.search(query.lexical_terms, 10)}
                assert ids <= found, f"{doc_id}: the lexical index misses passages"
            vectors = index.store.vectors(np.array(sorted(ids)), index.vectors.dim)
            _, found = index.vectors.search(vectors, 1)
            assert [int(i) for i in found[:, 0]] == sorted(ids), f"{doc_id}: FAISS ids do not map back"
        return stored
    finally:
        index.close()


__all__ = ["expected_passages", "store_generation", "verify_index"]
