"""The one write policy (engine.writes), through the local engine with the real model."""

from __future__ import annotations

import pytest

from core.errors import Conflict
from core.settings import Settings
from engine import LocalEngine
from indexer.ingest.schema import ArticleIn
from tests.durability.articles import article
from tests.indexer.test_pipeline import CountingEmbedder


def as_article(i: int, version: int = 1):
    return ArticleIn.model_validate(article(i, version)).to_article(origin=f"test:{i}")


@pytest.fixture
def engine(tmp_path, embedder):
    engine = LocalEngine(Settings(index_dir=tmp_path / "index"), create=True, encoder=CountingEmbedder(embedder))
    yield engine
    engine.close()


def test_single_writes_for_the_api(engine):
    counting = engine.encoder
    assert engine.write(as_article(1)) == ("added", 1)
    assert engine.index.vectors.ntotal == 1  # visible to searches in this process at once
    counting.embedded.clear()
    assert engine.write(as_article(1), create_only=True) == ("unchanged", 1)
    with pytest.raises(Conflict, match="use PUT"):
        engine.write(as_article(1, version=2), create_only=True)
    assert not counting.embedded  # neither the no-op nor the conflict cost an embedding
    assert engine.write(as_article(1, version=2)) == ("updated", 1)
    assert engine.write(as_article(2)) == ("added", 1)
    assert engine.delete(["art-0001", "nope"]) == ["art-0001"]
    assert engine.index.vectors.ntotal == 1 and engine.index.check() == []
