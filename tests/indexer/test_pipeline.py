"""The indexing pipeline with the real model: batches, content hashes, single-article writes."""

from __future__ import annotations

import time

import numpy as np
import pytest
from filelock import FileLock

from core.errors import WriteBusy
from core.settings import Settings
from indexer.ingest.readers import ReadError
from indexer.ingest.schema import ArticleIn
from indexer.pipeline import ArticleIndexer, embed_parts, unembedded
from store.index import LOCK_NAME, Index
from tests.durability.articles import article


class CountingEmbedder:
    """The real model, counting the passages it is asked to embed (their sentences come along)."""

    def __init__(self, inner):
        self.inner = inner
        self.embedded: list[str] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode_passages(self, texts, progress=False):
        self.embedded.extend(texts)
        return self.inner.encode_passages(texts, progress)

    def encode_passages_with_sentences(self, texts, spans, **options):
        self.embedded.extend(texts)
        return self.inner.encode_passages_with_sentences(texts, spans, **options)


def as_article(i: int, version: int = 1):
    return ArticleIn.model_validate(article(i, version)).to_article(origin=f"test:{i}")


@pytest.fixture
def counting(embedder):
    return CountingEmbedder(embedder)


@pytest.fixture
def index(tmp_path, counting):
    index = Index.open(tmp_path / "index", counting, create=True)
    yield index
    index.close()


def test_batches_come_from_the_settings_and_each_is_one_transaction(index, counting, tmp_path):
    settings = Settings(index_dir=index.folder, index_batch_articles=3)
    indexer = ArticleIndexer(index, settings)
    assert indexer.batch_articles == 3
    report = indexer.run([as_article(i) for i in range(7)] + [ReadError("x.txt", "binary file")])
    assert sorted(report.added) == [f"art-{i:04d}" for i in range(7)]
    assert report.errors == [ReadError("x.txt", "binary file")]
    assert index.store.generation() == 3 and report.passages == 7 == len(counting.embedded)
    assert list(index.folder.glob("vectors.g*.faiss")) == [index.folder / "vectors.g3.faiss"]
    assert index.check() == []


def test_only_new_or_changed_articles_are_embedded(index, counting):
    indexer = ArticleIndexer(index, Settings(index_dir=index.folder))
    indexer.run([as_article(i) for i in range(4)])
    counting.embedded.clear()
    report = indexer.run([as_article(0), as_article(1, version=2), as_article(2), as_article(9)])
    assert report.unchanged == ["art-0000", "art-0002"] and report.updated == ["art-0001"]
    assert report.added == ["art-0009"]
    assert len(counting.embedded) == 2 and all("KX0001" in t or "KX0009" in t for t in counting.embedded)
    counting.embedded.clear()
    report = indexer.run([as_article(0), as_article(1, version=2)])
    assert report.unchanged == ["art-0000", "art-0001"] and not counting.embedded


def test_the_last_version_of_an_id_in_a_batch_wins(index):
    indexer = ArticleIndexer(index, Settings(index_dir=index.folder))
    report = indexer.run([as_article(1), as_article(1, version=3)])
    assert report.added == ["art-0001"]
    assert "Fassung 3" in index.store.document("art-0001")["text"]


def test_a_busy_lock_is_waited_for_then_refused_and_never_breaks_a_save(index):
    indexer = ArticleIndexer(index, Settings(index_dir=index.folder), lock_timeout=0.5)
    indexer.run([as_article(1)])
    other = FileLock(str(index.folder / LOCK_NAME))  # another process holding the write lock
    with other:
        started = time.monotonic()
        with pytest.raises(WriteBusy, match="another process has been writing"):
            indexer.run([as_article(2)], save=False)
        assert 0.4 < time.monotonic() - started < 5
        assert index.save_vectors(timeout=0.2) is False  # best effort: skipped, not raised
    assert index.save_vectors() is True
    assert index.counts() == (1, 1) and index.check() == []


@pytest.mark.parametrize("method", ["separate", "late"])
def test_sentence_vectors_are_made_as_the_settings_say(index, counting, method):
    """FUNDSTELLE_SENTENCE_VECTORS: each sentence embedded on its own, or pooled from its passage's forward pass
    (late chunking); the index stores what was asked for."""
    settings = Settings(index_dir=index.folder, sentence_vectors=method)
    chosen = as_article(3)
    ArticleIndexer(index, settings).run([chosen])
    stored, = index.store.passages(index.store.passage_ids().tolist()).values()
    assert len(stored.sentences) == 3
    made = {way: embed_parts(counting.inner, [chosen], [unembedded(chosen, settings)], way)[0].sentence_vectors[0]
            for way in ("separate", "late")}
    assert np.sum(made["separate"] * made["late"], axis=1).min() < 0.99  # the two ways differ
    assert np.sum(stored.sentence_vectors * made[method], axis=1).min() > 0.995  # (stored as 8 bits and a scale)
