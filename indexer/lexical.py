"""Terms for the lexical (BM25) side: words, lower-cased, German stopwords out, Snowball-stemmed.

The same function turns passages and questions into terms, so both sides match.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_GERMAN

# Questions may be English although the articles are German; their function words are noise.
STOPWORDS = frozenset(STOPWORDS_GERMAN) | frozenset(STOPWORDS_EN) | {
    "how", "many", "much", "which", "when", "why", "who", "where", "what", "does", "did",
    "wie", "viele", "welche", "welcher", "welches", "wann", "warum", "wer", "wo", "was", "wieso", "weshalb",
}
# Grouped numbers ("10.000", "650'000") are one term; words may be hyphenated compounds.
WORD = re.compile(r"\d{1,3}(?:[.'’]\d{3})+(?!\d)|\w+(?:[-'’]\w+)*", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("german")


def terms(text: str) -> list[str]:
    """Stemmed content terms; hyphenated compounds also give their parts ("KN-23" -> kn23, kn, 23)."""
    out: list[str] = []
    for match in WORD.finditer(text.lower()):
        word = match.group()
        if word[0].isdigit() and re.fullmatch(r"[\d.'’]+", word):
            out.append(re.sub(r"\D", "", word))
            continue
        parts = re.split(r"[-'’]", word)
        candidates = [word.replace("-", "").replace("'", "").replace("’", "")] + (parts if len(parts) > 1 else [])
        out.extend(w for w in candidates if w and w not in STOPWORDS and not (len(w) == 1 and not w.isdigit()))
    return _stemmer().stemWords(out)


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression: any of the question's terms (BM25 ranks the overlap)."""
    unique = list(dict.fromkeys(terms(text)))
    if not unique:
        return None
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in unique)
