"""BM25 as FTS5's bm25() computes it, with statistics given from outside: a shard of an archive
then scores like one index holding the whole archive (Elasticsearch's dfs_query_then_fetch).

:class:`LexicalStats` is what bm25() knows of its table for some terms (rows, tokens, rows per term);
summed over shards it is the archive's. :func:`bm25_scorer` scores a stored row with given statistics
by the same operations in the same order as FTS5, so equal statistics give equal scores;
:func:`rescoring_bound` says how far down a shard's local order the archive's best rows can lie.
The FTS5 internals read here (the totals record, the tokenizer's rule) are checked by tests against
the real FTS5 (tests/scaleout/test_bm25_stats.py). :class:`store.store.Store` uses them in
``lexical_stats`` and ``lexical_rescored``.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

BM25_K1, BM25_B = 1.2, 0.75  # FTS5's bm25() constants
# unicode61 (the FTS table's tokenizer): a token is letters and digits, where a combining diacritic
# (those of U+0300-U+0331 that sqlite3Fts5UnicodeIsdiacritic names) may follow one; everything else
# separates. The stored terms are words already: this splits them only where one holds an "_" or so.
_DIACRITICS = "".join(chr(c) for c in range(0x300, 0x332)
                      if (0x08029FDF >> (c - 0x300) if c < 0x320 else 0x000361F8 >> (c - 0x320)) & 1)
FTS_TOKEN = re.compile(rf"[^\W_](?:[^\W_]|[{_DIACRITICS}])*")
_UNPLAIN = re.compile(r"[^\w\s]|_")  # a character that is no letter, digit or space ("_", a combining mark, ...)
# Candidates read by local BM25 per wanted one before re-scoring with the archive's statistics: a shard's
# statistics differ little from the archive's, so the global top rarely lies beyond the local top 4x;
# :func:`rescoring_bound` checks that it does not, and more are read when it might (up to the maximum).
LEXICAL_OVERFETCH = 4
LEXICAL_MAX_FETCH = 4096
STATS_CACHE = 256  # (generation, terms) entries: each question needs a shard's own statistics twice


@dataclass(frozen=True)
class LexicalStats:
    """What FTS5's bm25() knows about its table for some query terms. Summed over the shards of an
    archive it is what one index holding all their passages knows (Elasticsearch's dfs_query_then_fetch)."""

    passages: int  # rows of the FTS table
    tokens: int  # tokens in all of them (avgdl = tokens / passages)
    containing: dict[str, int]  # term -> rows that contain it (as FTS5 counts a phrase's rows)

    @classmethod
    def total(cls, parts: Iterable[LexicalStats]) -> LexicalStats:
        passages, tokens, containing = 0, 0, Counter()
        for part in parts:
            passages, tokens = passages + part.passages, tokens + part.tokens
            containing.update(part.containing)
        return cls(passages, tokens, dict(containing))

    @property
    def avgdl(self) -> float:
        return self.tokens / self.passages

    def idf(self, term: str) -> float:
        """FTS5's idf: never <= 0 (a term in more than half of the rows gets 1e-6)."""
        hits = self.containing.get(term, 0)
        odds = (self.passages - hits + 0.5) / (hits + 0.5)
        return math.log(odds) if odds > 1 else 1e-6  # log <= 0 exactly when odds <= 1 (never log of <= 0)


def fts_tokens(text: str) -> list[str]:
    """The tokens FTS5 makes of ``text`` (its row length is their number)."""
    text = text.lower()
    # usually only letters, digits and spaces: then the spaces are the only separators (twice as fast)
    return FTS_TOKEN.findall(text) if _UNPLAIN.search(text) else text.split()


def _occurrences(tokens: list[str], counts: Counter, phrase: tuple[str, ...]) -> int:
    if len(phrase) == 1:
        return counts[phrase[0]]
    n = len(phrase)  # a term the tokenizer splits is a phrase: its instances are runs of its tokens
    return sum(1 for i in range(len(tokens) - n + 1) if tuple(tokens[i : i + n]) == phrase) if n else 0


def bm25_scorer(terms: Sequence[str], stats: LexicalStats) -> Callable[[str], float]:
    """FTS5's bm25() of an FTS row (its ``terms`` column) for a MATCH of ``terms`` (one phrase each),
    with ``stats`` instead of the table's own: the same operations in the same order, so equal
    statistics give equal scores."""
    phrases = [tuple(fts_tokens(t)) for t in terms]
    weights = [stats.idf(t) for t in terms]
    avgdl = stats.avgdl

    def score(row: str) -> float:
        tokens = fts_tokens(row)
        counts, length, total = Counter(tokens), len(tokens), 0.0
        for phrase, idf in zip(phrases, weights, strict=True):
            tf = _occurrences(tokens, counts, phrase)
            total += idf * ((tf * (BM25_K1 + 1.0)) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * length / avgdl)))
        return total

    return score


def rescoring_bound(local_score: float, terms: Sequence[str], local: LexicalStats, archive: LexicalStats) -> float:
    """The highest score with ``archive``'s statistics that a row of this shard can reach whose score
    with its own (``local``) is at most ``local_score``.

    Per term the archive's weight is the local one times idf_archive / idf_local, and the length part
    grows at most by avgdl_archive / avgdl_local (when > 1); a term whose ratio is large is bounded by
    its largest contribution, idf * (k1 + 1), instead. The least of these bounds is returned.
    """
    length = max(1.0, archive.avgdl / local.avgdl)
    weights = sorted(((archive.idf(t) / local.idf(t), archive.idf(t)) for t in terms if local.containing.get(t)),
                     reverse=True)  # terms no row here holds add nothing
    best = math.inf
    for cut in range(len(weights) + 1):
        capped = sum(idf for _, idf in weights[:cut]) * (BM25_K1 + 1.0)
        ratio = weights[cut][0] if cut < len(weights) else 0.0
        best = min(best, capped + length * ratio * local_score)
    return best


def fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'  # one quoted phrase: nothing in it is FTS5 syntax


def fts_any(terms: Sequence[str]) -> str:
    """An FTS5 MATCH of any of ``terms``, each one phrase (BM25 ranks the overlap)."""
    return " OR ".join(fts_phrase(t) for t in terms)


def varints(blob: bytes) -> list[int]:
    """SQLite's varints (big-endian, 7 bits a byte, the 9th byte whole), as FTS5 stores its numbers."""
    out, i = [], 0
    while i < len(blob):
        value = 0
        for k in range(9):
            byte = blob[i]
            i += 1
            if k == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        out.append(value)
    return out



def fts_totals(conn: sqlite3.Connection) -> tuple[int, int]:
    """(rows, tokens) of the FTS table from FTS5's totals ("averages") record, id 1 of its data table:
    the numbers bm25() reads, kept up to date by every write (a count would scan the table)."""
    row = conn.execute("SELECT block FROM passages_fts_data WHERE id = 1").fetchone()
    numbers = varints(row[0]) if row and row[0] else []
    return (numbers[0], numbers[1]) if len(numbers) >= 2 else (0, 0)


def rows_with(conn: sqlite3.Connection, term: str) -> int:
    if not fts_tokens(term):  # nothing the tokenizer keeps: a phrase that matches no row
        return 0
    return int(conn.execute("SELECT count(*) FROM passages_fts WHERE passages_fts MATCH ?",
                            (fts_phrase(term),)).fetchone()[0])
