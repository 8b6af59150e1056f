"""German compound splitting: CharSplit's ``split_compound``, over compact tables.

The algorithm and its n-gram probabilities are CharSplit's (Don Tuggener, "Incremental Coreference
Resolution for German", 2016), from the ``compound-split`` package (``compound_split.char_split``). It is
re-implemented here, step for step, because importing ``char_split`` loads its German and Dutch tables as
Python dicts: about 360 MB of resident memory in every process. Here the German tables (prefix, infix and
suffix n-grams, 1.87 million keys) are one sorted array of 64-bit key digests with a code for each key's
exact value (``python -m text.compounds_build``, run by ``make install``; 23 MB, memory-mapped, so the pages
are shared by all processes), and the splits, scores and their order are the package's
(tests/text/test_compounds.py compares the two on real text).

A key's digest is a polynomial hash modulo two primes below 2**32 (32 bits each), computed for all the
substrings of a word at once from prefix sums (:func:`substring_hashes`): a split looks up ~200 substrings,
and this costs a few numpy operations instead of a hash call per substring. The digest is XOR-ed with its
table's tag and multiplied by an odd constant (a bijection that spreads similar keys, which a polynomial hash
leaves close, over the 64 bits), and found through a directory of its top 20 bits: a look-up reads one short
window of the sorted digests instead of binary-searching 15 MB (less than half the time on real text). A key that is
not in the tables could share a digest with one that is (then it would get that key's value): about 2**-64
per pair, so with 1.87 million keys about 1e-13 per look-up; every key in the tables has a digest of its own
(the build checks).
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from core.errors import IndexProblem

TABLES_DIR = Path(__file__).resolve().parent / "compound_tables"
MANIFEST = "build.json"
FORMAT = 1
PARTS = ("digests", "codes", "values", "directory")  # the .npy files (text/compounds_build.py)
BUILD_HINT = "run `make install` (or `.venv/bin/python -m text.compounds_build`)"

# The polynomial hash: two primes below 2**32 (so a product of two residues fits uint64) and a base for each.
PRIMES = np.array([[4_294_967_291], [4_294_967_279]], dtype=np.uint64)
BASES = np.array([[2_654_435_761], [1_597_334_677]], dtype=np.uint64)
INVERSE_BASES = np.array([[pow(int(b), -1, int(p))] for b, p in zip(BASES[:, 0], PRIMES[:, 0], strict=True)],
                         dtype=np.uint64)
# The three tables share one array: a key's digest is XOR-ed with its table's tag, then multiplied by MIX.
MIX = np.uint64(0x9E37_79B9_7F4A_7C15)
DIRECTORY_BITS = 20  # 2**20 buckets for 1.87 million keys: at most 11 in one
TABLE_TAGS = {"prefix": np.uint64(0x2545_F491_4F6C_DD1D), "infix": np.uint64(0xC2B2_AE3D_27D4_EB4F),
              "suffix": np.uint64(0x1656_67B1_9E37_79F9)}
# CharSplit's cut_off_fugen_s: a part that ends in one of these loses its linking s ("Fugen-s"), unless two
# letters or fewer would be left.
FUGEN_S_ENDINGS = ("ts", "gs", "ks", "hls", "ns")
CACHED_LAYOUT_CHARS = 48  # longer words (rare) get their layout computed each time, so no cache can grow large


class CompoundTablesMissing(IndexProblem):
    """The compact compound-split tables have not been built (or were built in an older format)."""


def _code_points(text: str) -> np.ndarray:
    # + 1: no digit is 0, so "\0ab" and "ab" differ.
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64) + 1


def _powers(length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """B**i, B**-i and B**(i - 1) (0 for i = 0) modulo each prime, for i from 0 to length at least (each of shape
    (2, > length)), from a table computed for a power of two."""
    return _powers_upto(max(64, 1 << length.bit_length()))


@cache
def _powers_upto(length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    forward = np.ones((2, length + 1), dtype=np.uint64)
    inverse = np.ones((2, length + 1), dtype=np.uint64)
    for i in range(1, length + 1):
        forward[:, i] = forward[:, i - 1] * BASES[:, 0] % PRIMES[:, 0]
        inverse[:, i] = inverse[:, i - 1] * INVERSE_BASES[:, 0] % PRIMES[:, 0]
    previous = np.zeros_like(forward)
    previous[:, 1:] = forward[:, :-1]
    return forward, inverse, previous


def _digest(residues: np.ndarray) -> np.ndarray:
    return residues[0] << np.uint64(32) | residues[1]


def key_hashes(keys: list[str]) -> np.ndarray:
    """Each key's digest: sum of (code point + 1) * B**(len - 1 - i) modulo each prime, the two residues in 64 bits."""
    out = np.empty(len(keys), dtype=np.uint64)
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    for length in np.unique(lengths).tolist():
        which = np.flatnonzero(lengths == length)
        points = _code_points("".join(keys[i] for i in which.tolist())).reshape(len(which), length)
        forward = _powers(length)[0][:, :length]
        terms = points[None, :, :] * forward[:, None, ::-1] % PRIMES[:, :, None]
        out[which] = _digest(terms.sum(axis=2) % PRIMES)
    return out


def table_digests(hashes: np.ndarray, tags: np.ndarray | np.uint64) -> np.ndarray:
    """What the tables store for keys with these hashes (:func:`key_hashes`) in the tables of these tags."""
    return (hashes ^ tags) * MIX  # uint64 arithmetic: modulo 2**64


def substring_hashes(word: str, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The digests of ``word[start:stop]`` (as :func:`key_hashes` gives them), from prefix sums of
    (code point + 1) * B**-i: the sum over a substring, times B**(stop - 1), is its polynomial."""
    _, inverse, previous = _powers(len(word))
    prefix = np.zeros((2, len(word) + 1), dtype=np.uint64)
    np.cumsum(_code_points(word) * inverse[:, :len(word)] % PRIMES, axis=1, out=prefix[:, 1:])
    prefix %= PRIMES
    return _digest((prefix[:, stops] + PRIMES - prefix[:, starts]) % PRIMES * previous[:, stops] % PRIMES)


class NgramTables:
    """CharSplit's German n-gram tables (n-gram -> probability), looked up by digest (:func:`table_digests`)."""

    def __init__(self, digests: np.ndarray, codes: np.ndarray, values: np.ndarray, directory: np.ndarray,
                 longest_infix: int):
        # digests sorted; codes[i] the index of digests[i]'s value in values; the digests with top bits b are
        # digests[directory[b]:directory[b + 1]]; no infix key is longer than longest_infix characters.
        self.digests, self.codes, self.values, self.directory = digests, codes, values, directory
        self.longest_infix = longest_infix
        self.window = np.arange(int(np.diff(directory).max()))  # the most digests under one directory entry
        self.shift = np.uint64(64 - DIRECTORY_BITS)

    @classmethod
    def load(cls, folder: Path = TABLES_DIR) -> NgramTables:
        manifest = folder / MANIFEST
        if not manifest.is_file():
            raise CompoundTablesMissing(f"The German compound-split tables are not built ({folder} is missing): "
                                        f"{BUILD_HINT}.")
        built = json.loads(manifest.read_text())
        if built.get("format") != FORMAT:
            raise CompoundTablesMissing(f"The compound-split tables in {folder} are in format {built.get('format')}, "
                                        f"this code reads format {FORMAT}: {BUILD_HINT}.")
        # Memory-mapped: the pages are the file's, shared by every process on the machine, and only those that
        # look-ups touch are resident. np.asarray drops np.memmap's per-operation overhead.
        return cls(*(np.asarray(np.load(folder / f"{part}.npy", mmap_mode="r")) for part in PARTS),
                   longest_infix=built["longest_infix"])

    def __len__(self) -> int:
        return len(self.digests)

    def lookup(self, digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each digest is a key's, and the value found there (some other key's where it is not)."""
        first = self.directory[digests >> self.shift].astype(np.int64)
        at = np.minimum(first[:, None] + self.window, len(self.digests) - 1)
        same = self.digests[at] == digests[:, None]
        position = np.minimum(first + same.argmax(axis=1), len(self.digests) - 1)
        return same.any(axis=1), self.values[self.codes[position]]

    def get(self, table: str, key: str, default: float) -> float:
        """Like ``de_ngram_probs.<table>.get(key, default)``."""
        found, values = self.lookup(table_digests(key_hashes([key]), TABLE_TAGS[table]))
        return values.tolist()[0] if found[0] else default


@lru_cache(maxsize=1)
def german_tables() -> NgramTables:
    return NgramTables.load()


def _layout(length: int, longest_infix: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For a word of ``length``: the substrings CharSplit looks up, as starts, stops (the first 2 * splits of
    them set per word) and table tags: per split position n, the left part (suffix table), then per n the
    right part (prefix table), then per n the n-grams word[n:k] for k from n + 3 (infix table); and where each
    position's n-grams begin (the offsets for ``np.minimum.reduceat``), and the default values (-1 for a part
    that is not in its table, 1 for an n-gram). CharSplit looks up the n-grams up to k = length, but one longer
    than the longest infix key is never found: it counts 1, the most any n-gram counts (the build checks), so
    it cannot lower the minimum and is left out (a long string of letters costs linear work, not quadratic)."""
    if length <= CACHED_LAYOUT_CHARS:
        return _cached_layout(length, longest_infix)
    return _cached_layout.__wrapped__(length, longest_infix)


@lru_cache(maxsize=2 * CACHED_LAYOUT_CHARS)
def _cached_layout(length: int, longest_infix: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    positions = list(range(3, length - 2))
    inner = [(n, k) for n in positions for k in range(n + 3, min(length, n + longest_infix) + 1)]
    starts = np.array([0] * len(positions) + positions + [n for n, _ in inner], dtype=np.int64)
    stops = np.array(positions + [length] * len(positions) + [k for _, k in inner], dtype=np.int64)
    tags = np.array([TABLE_TAGS["suffix"]] * len(positions) + [TABLE_TAGS["prefix"]] * len(positions)
                    + [TABLE_TAGS["infix"]] * len(inner), dtype=np.uint64)
    counts = [min(length, n + longest_infix) - n - 2 for n in positions]
    firsts = np.cumsum([0] + counts[:-1], dtype=np.int64)
    defaults = np.array([-1.0] * 2 * len(positions) + [1.0] * len(inner))
    return starts, stops, tags, firsts, defaults


def _split_scores(word: str, tables: NgramTables | None) -> list[float]:
    """CharSplit's score of each split position n of the lower-case ``word``, from the fourth character to the
    third last: how likely the left part ends a word (suffix table, else -1), plus how likely the right part
    starts one (prefix table, else -1), minus how likely the least likely n-gram starting at n is inside a word
    (infix table; an unseen one counts 1: splitting there is favoured). Both parts lose a linking s first
    (FUGEN_S_ENDINGS). The same float64 operations in the same order as CharSplit's, so the same numbers (all
    floats: where CharSplit adds up three defaults it has the int -3, equal to our -3.0)."""
    tables = tables or german_tables()
    starts, stops, tags, firsts, defaults = _layout(len(word), tables.longest_infix)
    splits = len(firsts)
    positions = range(3, len(word) - 2)
    stops = stops.copy()  # the parts' ends, where a linking s is cut off
    stops[:splits] = [n - 1 if word.endswith(FUGEN_S_ENDINGS, 0, n) and n - 1 > 2 else n for n in positions]
    if word.endswith(FUGEN_S_ENDINGS):
        stops[splits:2 * splits] = [len(word) - 1 if len(word) - n - 1 > 2 else len(word) for n in positions]
    found, values = tables.lookup(table_digests(substring_hashes(word, starts, stops), tags))
    probabilities = np.where(found, values, defaults)
    ends, begins, inner = probabilities[:splits], probabilities[splits:2 * splits], probabilities[2 * splits:]
    return (begins - np.minimum.reduceat(inner, firsts) + ends).tolist()


def split_compound(word: str, tables: NgramTables | None = None) -> list[tuple[float, str, str]]:
    """Every split of ``word`` as ``(score, left, right)`` (title case), best first: ``char_split.split_compound``'s
    result for German, value for value and in the same order."""
    word = word.lower()
    if "-" in word:  # a hyphenated word splits at its last hyphen
        hyphen = word.rfind("-")
        return [(1.0, word[:hyphen].title(), word[hyphen + 1:].title())]
    if len(word) < 6:  # no split position
        return [(0, word.title(), word.title())]
    scores = _split_scores(word, tables)
    return sorted(((score, word[:n].title(), word[n:].title()) for n, score in enumerate(scores, start=3)),
                  reverse=True)


def best_split(word: str, tables: NgramTables | None = None) -> tuple[float, str, str]:
    """``split_compound(word)[0]``, without titling and sorting the other splits."""
    if "-" in word or len(word.lower()) < 6:
        return split_compound(word, tables)[0]
    word = word.lower()
    scores = _split_scores(word, tables)
    best = max(scores)
    return max((score, word[:n].title(), word[n:].title()) for n, score in enumerate(scores, start=3) if score == best)
