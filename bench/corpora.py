"""Corpora the benchmarks share: where they are and how to read them as articles.

An archive larger than a corpus (:func:`archive`) repeats it: copy 0 is the corpus as it is, copy k
the same articles under the ids ``<id>~k`` with the digits of every text permuted (one fixed
permutation per copy: years, numbers and dates change, the length of every text and so every passage
and sentence offset stays), so no two copies hold the same article and number terms differ between
copies while the words, and so the posting lists of words, grow with the archive as a newspaper's do.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import pickle
import random
from collections.abc import Callable, Iterator
from pathlib import Path

from core.documents import Article

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
# 2,898 German Wikipedia articles (the Klexikon topics), alphabetical; ~280k paragraphs, ~99M chars
KLEXIKON = SHARED / "klexikon" / "dewiki_2898_articles.jsonl.gz"

Parts = tuple[list, list[str], list[list[str]]]  # passages, model inputs, BM25 terms (indexer.pipeline.unembedded)


def jsonl_gz_articles(path: Path) -> Iterator[Article]:
    """One JSON object a line: {"id", "title", "text"}."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            yield Article(doc_id=f"wiki-{item['id']}", title=item["title"], text=item["text"])


def cut_corpus(path: Path, cut: Callable[[Article], Parts], cache: Path) -> list[tuple[Article, Parts]]:
    """Every article of ``path`` with its parts (``cut``: the real pipeline's), pickled to ``cache``
    once: cutting Klexikon's ~99M characters takes minutes (sentence splitting)."""
    if cache.is_file():
        with cache.open("rb") as fh:
            return pickle.load(fh)
    out = [(article, parts) for article in jsonl_gz_articles(path) if (parts := cut(article))[0]]
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".partial")
    with partial.open("wb") as fh:
        pickle.dump(out, fh, protocol=pickle.HIGHEST_PROTOCOL)
    partial.rename(cache)
    return out


def digit_permutation(copy: int) -> dict[int, int]:
    """The str.translate table of copy ``copy``: identity for copy 0, a fixed shuffle of 0-9 otherwise."""
    digits = list("0123456789")
    if copy:
        shuffled = digits[:]
        rng = random.Random(copy)
        while shuffled == digits:
            rng.shuffle(shuffled)
        return str.maketrans("".join(digits), "".join(shuffled))
    return {}


def varied(article: Article, parts: Parts, copy: int) -> tuple[Article, Parts]:
    """Copy ``copy`` of an article and its parts (see the module's docstring); copy 0 is itself."""
    if not copy:
        return article, parts
    table, doc_id = digit_permutation(copy), f"{article.doc_id}~{copy}"
    passages, inputs, terms = parts
    passages = [dataclasses.replace(p, doc_id=doc_id, text=p.text.translate(table)) for p in passages]
    return (dataclasses.replace(article, doc_id=doc_id, title=article.title.translate(table),
                                text=article.text.translate(table)),
            (passages, [t.translate(table) for t in inputs], [[w.translate(table) for w in ws] for ws in terms]))


def archive(n: int, corpus: list[tuple[Article, Parts]]) -> Iterator[tuple[Article, Parts]]:
    """The first ``n`` passages of the corpus repeated (copy 0, 1, ...): whole articles, the last one
    cut short after passage ``n`` (its parts and its text up to that passage's end)."""
    total, copy = 0, 0
    while True:
        for base, base_parts in corpus:
            article, (passages, inputs, terms) = varied(base, base_parts, copy)
            if total + len(passages) >= n:
                keep = n - total
                yield (dataclasses.replace(article, text=article.text[: passages[keep - 1].char_end]),
                       (passages[:keep], inputs[:keep], terms[:keep]))
                return
            total += len(passages)
            yield article, (passages, inputs, terms)
        copy += 1
