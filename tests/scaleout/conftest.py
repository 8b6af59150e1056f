"""Fixtures for the scale-out tests: a real two-node Ray cluster on loopback, the test corpus.

Ray is an optional extra; without it the Ray tests are skipped (CI installs ``.[test,ray]``).
Every Ray process here uses 127.0.0.1 (see :func:`scaleout.cluster.loopback_only`), usage
statistics are off, and the nodes get fractional-CPU work only, so a 2-core machine runs it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from core.documents import Article
from indexer.ingest.readers import read_articles
from tests.paths import BUNDLED_CORPUS, SHARED_DATA

XQUAD_DE = SHARED_DATA / "xquad" / "xquad.de.json"
XQUAD_EN = SHARED_DATA / "xquad" / "xquad.en.json"
XQUAD_ARTICLES = 3  # XQuAD articles whose paragraphs join the bundled corpus (about 15 paragraphs)
HAS_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAS_RAY, reason='ray is not installed: pip install -e ".[ray]" (CI installs it)')
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def corpus_articles() -> list[Article]:
    """The bundled articles, plus a slice of XQuAD paragraphs when the shared data is there."""
    articles = [a for a in read_articles([BUNDLED_CORPUS]) if isinstance(a, Article)]
    if XQUAD_DE.is_file():
        from evaluation.datasets import load_dataset

        articles += load_dataset(XQUAD_DE, None, None, max_articles=XQUAD_ARTICLES).articles
    return articles


def eval_questions(limit: int = 40) -> dict[str, list]:
    """German and English questions on the XQuAD slice ({} without the shared data)."""
    if not (XQUAD_DE.is_file() and XQUAD_EN.is_file()):
        return {}
    from evaluation.datasets import load_dataset

    german = load_dataset(XQUAD_DE, None, None, max_articles=XQUAD_ARTICLES).questions
    english = load_dataset(XQUAD_DE, XQUAD_EN, None, max_articles=XQUAD_ARTICLES).questions
    return {"de": german[:limit], "en": english[: limit // 2]}


def write_jsonl(articles: list[Article], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for a in articles:
            fh.write(json.dumps({"id": a.doc_id, "title": a.title, "text": a.text, "source": a.source,
                                 "published": a.published, "url": a.url}, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def encoder(embedder):
    """The configured encoder, as every Fundstelle process loads it: the session's one loaded model."""
    return embedder


@pytest.fixture(scope="session")
def single_node(tmp_path_factory, encoder):
    """The single-node index of :func:`corpus_articles`: what the sharded archive must answer like."""
    from core.settings import Settings
    from indexer.pipeline import ArticleIndexer
    from store.index import Index

    folder = tmp_path_factory.mktemp("single") / "index"
    index = Index.open(folder, encoder, create=True)
    ArticleIndexer(index, Settings(index_dir=folder)).run(corpus_articles())
    yield index
    index.close()
