"""BM25 that does not scan: a tantivy index of the passages' terms beside the SQLite store.

FTS5 scores every passage that holds any question term (BM25 at 1M passages grew ~linearly with the
archive); tantivy keeps its posting lists in blocks with each block's best score and skips the
blocks that cannot reach the current top ``limit`` (block-max WAND), so its cost grows far slower.

**SQLite stays the source of truth.** The tantivy folder (``lexical/`` in the index folder) is a cache
of the ``passages_fts`` terms and of the article fields the filters need, at one store generation,
recorded in ``lexical/state.json`` after each tantivy commit. It catches up from SQLite exactly as the
vector cache does (:mod:`store.vector_log`): passages above its high-water id are new, the tombstones
after its generation are gone. Writers catch it up right after their SQLite commit (the store's
``after_write`` hook, under the index's write lock); a reader that finds it behind catches it up when
no writer holds the lock, and meanwhile answers from FTS5, so an answer never misses a committed
article. A SIGKILL between the SQLite commit and the tantivy commit (or the state file) therefore heals
on the next open or question: catching up deletes every id it (re-)adds first, so it may repeat work
but never duplicates a passage. A folder that is missing, damaged, of another schema, ahead of the
store (a store restored from a backup) or behind the pruned tombstone log is rebuilt from SQLite.

**Scores** are FTS5's BM25 as far as tantivy lets them be: k1 1.2 and b 0.75 as FTS5; each clause (a
term, or a phrase of two) is boosted from tantivy's idf (Lucene's ``ln(1 + (N - n + 0.5) / (n + 0.5))``,
a phrase's the sum of its tokens') to FTS5's (``ln((N - n + 0.5) / (n + 0.5))``, at least 1e-6; a
phrase's from the passages holding the phrase). A phrase of two (all the query analysis makes) is one
term of the field ``pairs``, which holds every two neighbouring tokens of a passage: its passage count is
exact and O(1), and the whole question stays a union of terms, which block-max WAND prunes. Passage
lengths are tantivy's: bucketed above 40 tokens (about 1 part in 16); a pair's length normalisation
counts the passage's pairs (one fewer than its tokens). A shard of a sharded archive boosts to the
archive's idf (dfs_query_then_fetch) from the statistics all shards report (:meth:`LexicalIndex.stats`,
summed); length normalisation stays the shard's own (its average passage length: hash-split shards of a
real archive differ there by well under 1 %).

**Filters** act inside the search: the article's doc_id, folded source and ISO day are indexed with
each passage, and a filter is a scoreless required clause (:func:`filter_query`).

``FUNDSTELLE_LEXICAL=fts5`` switches the engine off (FTS5 as before): for comparisons, and as a way out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import tantivy

from core.filters import Filters, fold, iso_day
from core.settings import Settings
from store.bm25 import LexicalStats, fts_tokens, fts_totals

if TYPE_CHECKING:
    from store.store import Store

log = logging.getLogger(__name__)

FOLDER = "lexical"
STATE = "state.json"
SCHEMA_VERSION = 2  # of the tantivy schema below; another one is rebuilt (1: no "pairs" field)
TOKENIZER = "fundstelle_terms"
PAIRS_TOKENIZER = "fundstelle_pairs"
PAIR_JOIN = "_"  # "sprech_ukrain": never inside a token (FTS5's tokenizer and fts_tokens split at "_")
WRITER_HEAP = 64_000_000  # bytes of tantivy's indexing buffer (one thread)
PHRASE_CACHE = 4096  # phrase counts kept per generation
READ_ROWS = 20_000  # passages read from SQLite per step while catching up
DELETE_CHUNK = 10_000  # passage ids per delete query


def wanted_engine() -> str:
    """The lexical engine the settings ask for (``FUNDSTELLE_LEXICAL``: tantivy or fts5; see core.settings)."""
    return Settings().lexical


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", indexed=True, fast=True)  # the passage id; deleted by this term
    # the stored terms, split as FTS5's unicode61 splits them (letters and digits); positions for phrases of 3+
    builder.add_text_field("terms", tokenizer_name=TOKENIZER, index_option="position")
    # every two neighbouring tokens as one ("sprech_ukrain"): a question's phrase of two is then one term,
    # with its exact passage count and block-max WAND (a phrase query in the union turns WAND off:
    # BM25 at 1M passages took 8x its time at 100k with phrase queries)
    builder.add_text_field("pairs", tokenizer_name=PAIRS_TOKENIZER, index_option="freq")
    builder.add_text_field("doc", tokenizer_name="raw", index_option="basic")  # the article's doc_id
    builder.add_text_field("source", tokenizer_name="raw", index_option="basic")  # folded (core.filters.fold)
    builder.add_integer_field("day", indexed=True, fast=True)  # YYYYMMDD of an ISO publication date
    return builder.build()


def _pairs_analyzer() -> tantivy.TextAnalyzer:
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


def pairs(tokens: Sequence[str]) -> list[str]:
    return [a + PAIR_JOIN + b for a, b in zip(tokens, tokens[1:], strict=False)]


def _analyzer() -> tantivy.TextAnalyzer:
    # tantivy's "default" analyzer without its 40-byte limit (German compounds can be longer): the same
    # tokens as FTS5's unicode61 makes of the stored terms (letters and digits; the terms are lower case)
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.lowercase()).build()


def idf(containing: int, passages: int) -> float:
    """tantivy's (Lucene's) BM25 idf."""
    return math.log(1.0 + (passages - containing + 0.5) / (containing + 0.5))


@dataclass(frozen=True)
class State:
    generation: int
    high_water: int
    schema: int = SCHEMA_VERSION


class LexicalIndex:
    """The tantivy index of one index folder (see the module's docstring)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder) / FOLDER
        self.schema = _schema()
        self.generation = -1  # the store generation the searcher shows (read from the state)
        self._index: tantivy.Index | None = None
        self._lock = threading.RLock()  # one catch-up at a time in this process
        self._phrases: dict[tuple[int, str], int] = {}  # (generation, phrase) -> passages holding it

    # -- opening and state ------------------------------------------------------------------
    def _open(self) -> tantivy.Index:
        if self._index is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            index = tantivy.Index(self.schema, path=str(self.folder), reuse=True)
            index.register_tokenizer(TOKENIZER, _analyzer())
            index.register_tokenizer(PAIRS_TOKENIZER, _pairs_analyzer())
            self._index = index
        return self._index

    def state(self) -> State | None:
        try:
            data = json.loads((self.folder / STATE).read_text())
            return State(int(data["generation"]), int(data["high_water"]), int(data.get("schema", 0)))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_state(self, state: State) -> None:
        tmp = self.folder / (STATE + ".tmp")
        with tmp.open("w") as fh:
            json.dump({"generation": state.generation, "high_water": state.high_water, "schema": state.schema}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / STATE)

    def follows(self, generation: int) -> bool:
        """Whether the searcher shows ``generation`` of the store (reloading it when another process or
        thread committed since). The state is read before the reload, so what it names is visible."""
        if self.generation == generation:
            return True
        state = self.state()
        if state is None or state.schema != SCHEMA_VERSION or state.generation != generation or self._index is None:
            return False
        self._index.reload()
        self.generation = state.generation
        return True

    def close(self) -> None:
        self._index = None

    # -- keeping in step with SQLite -----------------------------------------------------------
    def catch_up(self, store: Store) -> bool:
        """Bring the tantivy index to the store's committed generation; call it holding the index's write
        lock (no other writer may commit meanwhile). Returns True if it wrote anything."""
        with self._lock:
            with store.snapshot() as conn:
                generation = store.generation(conn)
                state = self.state()
                why = self._rebuild_reason(store, conn, state, generation)
                if why is None and state.generation == generation:
                    self.follows(generation)
                    return False
                if why is not None:
                    if why:
                        log.warning("lexical index at %s: %s; rebuilding it from the store", self.folder, why)
                    self._reset()
                    gone, after = [], 0
                else:
                    gone = [r[0] for r in conn.execute(
                        "SELECT id FROM passage_tombstones WHERE generation > ?", (state.generation,))]
                    after = state.high_water
                high_water = store.high_water(conn)
                index = self._open()
                writer = index.writer(WRITER_HEAP, 1)
                try:
                    if why is None:  # also the new ids: a commit that got here before the state file did
                        fresh = [r[0] for r in conn.execute("SELECT id FROM passages WHERE id > ?", (after,))]
                        self._delete(writer, gone + fresh)
                    for doc in _documents(conn, after):
                        writer.add_document(doc)
                    writer.commit()
                    writer.wait_merging_threads()
                except BaseException:
                    with contextlib.suppress(Exception):  # it may be unusable now: the original error counts
                        writer.rollback()
                    raise
            self._write_state(State(generation, high_water))
            index.reload()
            self.generation = generation
            return True

    def _delete(self, writer: tantivy.IndexWriter, ids: list[int]) -> None:
        for start in range(0, len(ids), DELETE_CHUNK):
            chunk = ids[start : start + DELETE_CHUNK]
            writer.delete_documents_by_query(tantivy.Query.term_set_query(self.schema, "id", chunk))

    def _rebuild_reason(self, store: Store, conn: sqlite3.Connection, state: State | None,
                        generation: int) -> str | None:
        """Why the folder cannot be caught up and must be rebuilt ("" for a plain first build), or None."""
        if state is None:
            if (self.folder / "meta.json").exists():
                return "its state file is missing or unreadable"
            return ""
        if state.schema != SCHEMA_VERSION:
            return f"it has schema {state.schema}, this Fundstelle needs {SCHEMA_VERSION}"
        if state.generation > generation:
            return (f"it is at generation {state.generation}, the store at {generation} "
                    "(was the store restored from a backup?)")
        if state.generation < generation and state.generation < store.tombstones_since(conn):
            return "the tombstone log no longer reaches back to its generation"
        try:
            self._open()
        except (ValueError, OSError, RuntimeError) as exc:
            return f"it cannot be opened ({exc})"
        return None

    def _reset(self) -> None:
        self._index = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def problems(self, store: Store) -> list[str]:
        """Disagreements between the tantivy index and the store (after catching up)."""
        with store.snapshot() as conn:
            generation = store.generation(conn)
            passages = store.passage_count(conn)
        if not self.follows(generation):
            return [f"the lexical index is not at the store's generation {generation}"]
        searched = self._open().searcher().num_docs
        if searched != passages:
            return [f"the lexical index holds {searched} passages, the store {passages}"]
        return []

    # -- searching ------------------------------------------------------------------------------
    def search(self, terms: Sequence[str], limit: int, filters: Filters | None = None,
               stats: LexicalStats | None = None) -> list[tuple[int, float]]:
        """(passage id, BM25) of the best ``limit`` passages holding any of ``terms`` (each a term or a
        phrase of terms), best first; ``stats``: an archive's, to score as one index of it would."""
        searcher = self._open().searcher()
        boosts = self._boosts(searcher, terms, stats if stats is not None and stats.passages else None)
        clauses = []
        for term in dict.fromkeys(terms):
            query = self._clause(term)
            if query is None or term not in boosts:
                continue
            clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(query, boosts[term])))
        if not clauses:
            return []
        query = tantivy.Query.boolean_query(clauses)
        if filters is not None and filters.active:
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query),
                                                 (tantivy.Occur.Must, self.filter_query(filters))])
        hits = searcher.search(query, limit, count=False).hits
        if not hits:
            return []
        ids = searcher.fast_field_values("id", [address for _, address in hits])
        return [(int(pid), float(score)) for (score, _), pid in zip(hits, ids, strict=True)]

    def _clause(self, term: str) -> tantivy.Query | None:
        tokens = fts_tokens(term)
        if not tokens:
            return None
        if len(tokens) == 1:
            return tantivy.Query.term_query(self.schema, "terms", tokens[0], index_option="freq")
        if len(tokens) == 2:
            return tantivy.Query.term_query(self.schema, "pairs", pairs(tokens)[0], index_option="freq")
        return tantivy.Query.phrase_query(self.schema, "terms", tokens)  # never made by the query analysis

    def filter_query(self, filters: Filters) -> tantivy.Query:
        """The filter as a clause that matches the allowed passages and adds nothing to their score."""
        parts = []
        if filters.doc_ids:
            parts.append(tantivy.Query.term_set_query(self.schema, "doc", list(filters.doc_ids)))
        if filters.sources:
            folded = list(dict.fromkeys(fold(s) for s in filters.sources))
            parts.append(tantivy.Query.term_set_query(self.schema, "source", folded))
        if filters.published_from or filters.published_to:
            parts.append(tantivy.Query.range_query(
                self.schema, "day", tantivy.FieldType.Integer,
                _day(filters.published_from.isoformat()) if filters.published_from else None,
                _day(filters.published_to.isoformat()) if filters.published_to else None))
        query = parts[0] if len(parts) == 1 else tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, part) for part in parts])
        return tantivy.Query.const_score_query(query, 0.0)

    # -- archive-wide statistics ----------------------------------------------------------------
    def stats(self, store: Store, terms: Sequence[str]) -> LexicalStats:
        """This index's statistics for ``terms`` as FTS5's :meth:`store.lexical.Lexical.lexical_stats` gives
        them (passages, tokens, per term or phrase the passages holding it); summed over shards they are
        the archive's."""
        searcher = self._open().searcher()
        with store.snapshot() as conn:
            _, total_tokens = fts_totals(conn)
        return replace(self._stats(searcher, terms), tokens=total_tokens)

    def _boosts(self, searcher: tantivy.Searcher, terms: Sequence[str], archive: LexicalStats | None
                ) -> dict[str, float]:
        """Per term (or phrase) the factor that turns tantivy's idf (Lucene's; a phrase's is the sum of its
        tokens') into FTS5's (:meth:`LexicalStats.idf`: a phrase's from the rows that hold the phrase), of this
        index or of ``archive``. With Lucene's idf the bundled set lost 0.029 German hit@1; with FTS5's
        idf for terms but summed token idfs for phrases still 0.015; with FTS5's for both, nothing."""
        local = searcher.num_docs
        own = self._stats(searcher, terms)
        out = {}
        for term in terms:
            tokens = fts_tokens(term)
            if not own.containing.get(term):
                continue  # no passage here holds it: the clause matches nothing
            counts = [own.containing[term]] if len(tokens) <= 2 else [searcher.doc_freq("terms", t) for t in tokens]
            target = archive if archive is not None else own
            out[term] = target.idf(term) / sum(idf(n, max(local, n)) for n in counts)
        return out

    def _stats(self, searcher: tantivy.Searcher, terms: Sequence[str]) -> LexicalStats:
        """Passages and, per term, the passages holding it (a phrase: holding the phrase) in ``searcher``."""
        containing = {}
        for term in dict.fromkeys(terms):
            tokens = fts_tokens(term)
            if len(tokens) == 1:
                containing[term] = searcher.doc_freq("terms", tokens[0])
            elif len(tokens) == 2:
                containing[term] = searcher.doc_freq("pairs", pairs(tokens)[0])
            elif tokens:
                containing[term] = self._phrase_rows(searcher, term)
        return LexicalStats(searcher.num_docs, 0, containing)

    def _phrase_rows(self, searcher: tantivy.Searcher, term: str) -> int:
        """Passages holding the phrase ``term`` (counted: tantivy keeps no phrase statistics), cached for
        the searcher's generation (questions repeat phrases)."""
        key = (self.generation, term)
        rows = self._phrases.get(key)
        if rows is None:
            rows = searcher.search(self._clause(term), 1, count=True).count
            if len(self._phrases) >= PHRASE_CACHE:
                self._phrases.clear()
            self._phrases[key] = rows
        return rows


def _day(iso: str | None) -> int | None:
    return int(iso[:10].replace("-", "")) if iso else None


def _documents(conn: sqlite3.Connection, after: int) -> Iterator[tantivy.Document]:
    """The tantivy documents of the passages with ids above ``after``, in id order."""
    while True:
        rows = conn.execute(
            "SELECT p.id, f.terms, d.doc_id, d.source, d.published FROM passages p"
            " JOIN passages_fts f ON f.rowid = p.id JOIN documents d ON d.doc_id = p.doc_id"
            " WHERE p.id > ? ORDER BY p.id LIMIT ?", (after, READ_ROWS)).fetchall()
        if not rows:
            return
        for pid, terms, doc_id, source, published in rows:
            yield _document(pid, terms, doc_id, source, published)
        after = rows[-1][0]


def _document(pid: int, terms: str, doc_id: str, source: str | None, published: str | None) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_unsigned("id", pid)
    doc.add_text("terms", terms)
    doc.add_text("pairs", " ".join(pairs(fts_tokens(terms))))
    doc.add_text("doc", doc_id)
    if source is not None and fold(source):
        doc.add_text("source", fold(source))
    day = iso_day(published)
    if day is not None:
        doc.add_integer("day", _day(day))
    return doc
