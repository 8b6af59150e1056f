"""The SQLite schema of an index: articles, passages (with their vectors and BM25 terms), metadata,
and the log of deleted passages that lets a vector cache catch up."""

SCHEMA_VERSION = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT, published TEXT, url TEXT,
    text TEXT NOT NULL, content_hash TEXT NOT NULL, indexed_at REAL NOT NULL,
    author TEXT, place TEXT, pages TEXT  -- pages: JSON list of the offsets where each page of a PDF starts
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
# Columns added to a table after indexes were first written: (table, column, type). An older index gets
# them on open (NULL: not known), so it keeps working without a rebuild.
ADDED_COLUMNS = (
    ("passages", "sentence_vectors", "BLOB"),
    ("documents", "author", "TEXT"),
    ("documents", "place", "TEXT"),
    ("documents", "pages", "TEXT"),
)
