"""The SQLite store of one index, assembled from its parts (one module each):

- :mod:`store.sqlite`: the file, connections, transactions, snapshots, metadata;
- :mod:`store.writes`: upserts and deletes, one transaction each;
- :mod:`store.reads`: passages, vectors, neighbours, articles, pages, outlets;
- :mod:`store.lexical`: BM25 with FTS5;
- :mod:`store.vector_log`: the tombstone log the vector cache catches up with.

The shapes it takes and returns are in :mod:`store.types`; the schema in :mod:`store.schema`.
"""

from __future__ import annotations

from store.lexical import Lexical
from store.reads import Reads
from store.schema import SCHEMA_VERSION
from store.sqlite import SQLiteFile
from store.types import Prepared, StoredPassage, UpsertResult
from store.vector_log import VectorLog
from store.writes import Writes

__all__ = ["SCHEMA_VERSION", "Prepared", "Store", "StoredPassage", "UpsertResult"]


class Store(SQLiteFile, VectorLog, Writes, Reads, Lexical):
    """Articles, passages (with their vectors and BM25 terms) and index metadata in one SQLite file."""
