"""The compact compound splitter (text/compounds.py) gives CharSplit's splits and the same BM25 terms.

CharSplit itself (``compound_split.char_split``, 360 MB of dicts) runs in a subprocess, so this test process
never holds its tables: it splits the same words and computes terms() with CharSplit swapped in.
"""

import gzip
import json
import re
import subprocess
import sys
from itertools import islice

import numpy as np
import pytest

from tests.paths import BUNDLED_CORPUS, REPO_ROOT, SHARED_DATA
from text import compounds
from text.compounds import (
    BUILD_HINT,
    CompoundTablesMissing,
    NgramTables,
    best_split,
    key_hashes,
    split_compound,
    substring_hashes,
)
from text.terms import WORD, terms

KLEXIKON = SHARED_DATA / "klexikon" / "dewiki_2898_articles.jsonl.gz"
KLEXIKON_WORDS = 3000
KLEXIKON_TERM_ARTICLES = 5
IMPORT = re.compile(r"^\s*(from|import)\s+compound_split\b", re.MULTILINE)
# Beside the corpus words: a lower case longer than the word (İ), a linking s at both ends, hyphens, too short to
# split, and long strings of letters (CharSplit's work grows with the square of the length, ours linearly).
ODD_WORDS = ["İstanbulerstraße", "Landtagswahlkampfs", "Nord-Süd-Gefälle", "Haus", "Kremls", "Straßenbahnhaltestellenschilds",
             "donaudampfschifffahrt" * 15, "中华人民共和国国务院新闻办公室发布会" * 10]
BUNDLED_TEXTS = [path.read_text(encoding="utf-8") for path in sorted(BUNDLED_CORPUS.glob("*.txt"))]

# Runs CharSplit on stdin's words and texts: its splits, and terms() with its splitter in place of ours.
CHARSPLIT = """
import json, sys
from compound_split import char_split
import text.terms as lexical
lexical.best_split = lambda word: char_split.split_compound(word)[0]
asked = json.load(sys.stdin)
json.dump({"splits": [char_split.split_compound(word) for word in asked["words"]],
           "terms": [lexical.terms(passage) for passage in asked["texts"]]}, sys.stdout)
"""


def words_of(texts, min_chars: int = 1) -> list[str]:
    return list(dict.fromkeys(w for text in texts for w in WORD.findall(text) if len(w) >= min_chars))


def klexikon_texts(count: int) -> list[str]:
    with gzip.open(KLEXIKON, "rt", encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in islice(lines, count)]


def charsplit(words: list[str], texts: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", CHARSPLIT], input=json.dumps({"words": words, "texts": texts}),
                          capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def bundled_reference():
    words = words_of(BUNDLED_TEXTS) + ODD_WORDS
    assert len(words) > 1000
    return words, charsplit(words, BUNDLED_TEXTS)


@pytest.fixture(scope="module")
def klexikon_reference():
    if not KLEXIKON.is_file():
        pytest.skip(f"{KLEXIKON} is not there (the shared data sets beside the checkout)")
    texts = klexikon_texts(60)
    words = [w for w in words_of(texts, min_chars=10) if w.isalpha()][:KLEXIKON_WORDS]
    assert len(words) == KLEXIKON_WORDS
    return words, texts[:KLEXIKON_TERM_ARTICLES], charsplit(words, texts[:KLEXIKON_TERM_ARTICLES])


def as_lists(splits):
    return [list(split) for split in splits]


def test_every_split_of_every_bundled_word_is_charsplits(bundled_reference):
    words, reference = bundled_reference
    # Every split in CharSplit's order with equal scores (floats: where CharSplit adds three defaults it has -3).
    assert [as_lists(split_compound(word)) for word in words] == reference["splits"]
    assert [list(best_split(word)) for word in words] == [splits[0] for splits in reference["splits"]]
    long_words = [w for w in words if len(w) >= 10]
    assert len(long_words) > 300 and any("-" in w for w in words)


def test_terms_of_the_bundled_corpus_are_those_with_charsplit(bundled_reference):
    _, reference = bundled_reference
    assert [terms(text) for text in BUNDLED_TEXTS] == reference["terms"]


@pytest.mark.slow  # make test runs it; the bundled-corpus checks above keep make check honest
def test_first_split_of_klexikon_words_is_charsplits(klexikon_reference):
    words, _, reference = klexikon_reference
    assert [list(best_split(word)) for word in words] == [splits[0] for splits in reference["splits"]]
    assert [as_lists(split_compound(word)) for word in words[:500]] == reference["splits"][:500]


@pytest.mark.slow  # make test runs it; the bundled-corpus checks above keep make check honest
def test_terms_of_klexikon_articles_are_those_with_charsplit(klexikon_reference):
    _, texts, reference = klexikon_reference
    assert [terms(text) for text in texts] == reference["terms"]


def test_known_values_and_hyphens():
    tables = compounds.german_tables()
    # de_ngram_probs' values for these keys, exactly
    assert tables.get("prefix", "diktatur", -1) == 0.4954914337240757
    assert tables.get("suffix", "diktatur", -1) == 0.5040577096483319
    assert tables.get("infix", "ktat", 1) == 0.9310344827586207
    assert tables.get("suffix", "kraft", -1) == 0.49187982135606984
    assert tables.get("infix", "xqzxqz", 1) == 1 and tables.get("prefix", "", -1) == -1
    assert split_compound("Nord-Süd-Gefälle") == [(1.0, "Nord-Süd", "Gefälle")]
    assert split_compound("Haus") == [(0, "Haus", "Haus")]
    assert best_split("Bahntransporte") == (0.923733276487027, "Bahn", "Transporte")


def test_substring_digests_are_the_keys_digests():
    word = "donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichen"
    starts, stops = zip(*[(i, j) for i in range(len(word)) for j in range(i, len(word) + 1)], strict=True)
    expected = key_hashes([word[i:j] for i, j in zip(starts, stops, strict=True)])
    assert (substring_hashes(word, np.array(starts), np.array(stops)) == expected).all()


def test_missing_or_outdated_tables_say_how_to_build_them(tmp_path):
    with pytest.raises(CompoundTablesMissing, match="make install"):
        NgramTables.load(tmp_path / "nowhere")
    (tmp_path / compounds.MANIFEST).write_text(json.dumps({"format": compounds.FORMAT - 1}))
    with pytest.raises(CompoundTablesMissing, match="format"):
        NgramTables.load(tmp_path)
    assert "make install" in BUILD_HINT


def test_the_serving_path_never_loads_charsplits_tables():
    probe = ("import sys, text.terms\n"
             "assert text.terms.terms('Bahntransporte der Streitkräfte')[:3] == ['bahntransport', 'bahn', 'transport']\n"
             "print(sorted(m for m in sys.modules if m.startswith('compound_split')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    # Only the build reads the package: no serving module imports it.
    importers = [path.relative_to(REPO_ROOT).as_posix() for folder in ("core", "text", "models", "store", "indexer",
                 "retrieval", "engine", "evaluation", "service", "cli", "scaleout")
                 for path in sorted((REPO_ROOT / folder).rglob("*.py")) if IMPORT.search(path.read_text(encoding="utf-8"))]
    assert importers == ["text/compounds_build.py"]


@pytest.mark.slow  # make test runs it; the bundled-corpus checks above keep make check honest
def test_the_build_is_reproducible(tmp_path):
    done = subprocess.run([sys.executable, "-m", "text.compounds_build", str(tmp_path / "tables")], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for part in compounds.PARTS:
        assert (tmp_path / "tables" / f"{part}.npy").read_bytes() == (compounds.TABLES_DIR / f"{part}.npy").read_bytes()
