"""What a reader finds after a crash or damage, and how it recovers (in-process, real model).

The FAISS file is a cache: a missing, stale, truncated, damaged or foreign one is detected
(header checksum, generation, ids) and rebuilt from SQLite with a clear log message. Damage
to SQLite itself is refused with a message that says what to do.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3

import numpy as np
import pytest

from core.errors import IndexProblem
from core.settings import Settings
from indexer.ingest.schema import ArticleIn
from indexer.pipeline import ArticleIndexer
from store.index import DB_NAME, Index
from store.vectors import TMP_PREFIX, FlatIndex, cache_path
from tests.durability.articles import article
from tests.durability.checks import verify_index


@pytest.fixture(scope="module")
def base_index(tmp_path_factory, embedder):
    """Twelve small articles in 3 batches, cache saved."""
    folder = tmp_path_factory.mktemp("recovery") / "index"
    index = Index.open(folder, embedder, create=True)
    items = [ArticleIn.model_validate(article(i)).to_article() for i in range(12)]
    ArticleIndexer(index, Settings(index_dir=folder), batch_articles=4).run(items)
    index.close()
    return folder


@pytest.fixture
def folder(base_index, tmp_path):
    target = tmp_path / "index"
    shutil.copytree(base_index, target, ignore=shutil.ignore_patterns("*.lock"))
    return target


def the_cache(folder):
    (cache,) = folder.glob("vectors.g*.faiss")
    return cache


def test_the_saved_cache_is_used_as_is(folder, embedder, caplog):
    with caplog.at_level(logging.INFO, logger="store.index"):
        verify_index(folder, embedder)
    assert "rebuild" not in caplog.text and "building" not in caplog.text


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage", "raw-faiss", "renamed-old"])
def test_a_damaged_cache_is_detected_and_rebuilt_from_sqlite(folder, embedder, caplog, damage):
    cache = the_cache(folder)
    raw = cache.read_bytes()
    if damage == "truncate":
        cache.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":
        cache.write_bytes(raw[:-100] + bytes([raw[-100] ^ 0xFF]) + raw[-99:])
    elif damage == "empty":
        cache.write_bytes(b"")
    elif damage == "garbage":
        cache.write_bytes(np.random.default_rng(1).bytes(len(raw)))
    elif damage == "raw-faiss":  # a plain FAISS file (no header) holding other vectors
        import faiss

        other = FlatIndex(embedder.dim)
        other.add(np.array([1, 2]), np.eye(2, embedder.dim, dtype=np.float32))
        faiss.write_index(other.index, str(cache))
    elif damage == "renamed-old":  # an intact cache of an older generation under the current name
        index = Index.open(folder, embedder)
        stale = FlatIndex(embedder.dim)
        stale.add(np.array([1]), np.eye(1, embedder.dim, dtype=np.float32))
        path = stale.save(folder, index.generation - 1)
        index.close()
        path.replace(cache)
    with caplog.at_level(logging.WARNING, logger="store.index"):
        stored = verify_index(folder, embedder)
    assert len(stored) == 12
    assert "rebuilding the vector cache from the store" in caplog.text
    assert cache.name in caplog.text  # the message names the file and what is wrong with it


def test_a_cache_with_other_ids_is_not_trusted(folder, embedder, caplog):
    """Intact file, right generation, but not the store's passages (e.g. copied from elsewhere)."""
    index = Index.open(folder, embedder)
    generation = index.generation
    other = FlatIndex(embedder.dim)
    ids = index.store.passage_ids()[:-1]  # one passage short
    other.add(ids, index.store.vectors(ids, embedder.dim))
    index.close()
    other.save(folder, generation)
    with caplog.at_level(logging.WARNING, logger="store.index"):
        verify_index(folder, embedder)
    # the store never vouched for this file (its token is not in the store's meta)
    assert f"vectors.g{generation}.faiss was not written for this store" in caplog.text


def test_a_commit_without_a_save_is_caught_up_from_sqlite(folder, embedder):
    """The crash window between the SQLite commit and the cache save."""
    index = Index.open(folder, embedder)
    writer = ArticleIndexer(index, Settings(index_dir=folder))
    writer.run([ArticleIn.model_validate(article(99)).to_article()], save=False)
    assert not cache_path(folder, index.store.generation()).exists()
    index.close()
    assert "art-0099" in verify_index(folder, embedder, {"art-0099": article(99)})


def test_stale_temporary_files_are_removed_by_the_next_save(folder, embedder):
    (folder / f"{TMP_PREFIX}dead.tmp").write_bytes(b"half a cache")
    index = Index.open(folder, embedder)
    ArticleIndexer(index, Settings(index_dir=folder)).run([ArticleIn.model_validate(article(50)).to_article()], save=False)
    assert index.save_vectors()
    index.close()
    assert not list(folder.glob(f"{TMP_PREFIX}*"))
    assert [p.name for p in folder.glob("vectors.g*.faiss")] == [f"vectors.g{index.generation}.faiss"]


def test_a_store_restored_from_a_backup_is_reloaded_not_merged(folder, embedder, tmp_path):
    """The store went back in time, and another process then wrote to it: passage ids this
    reader holds in memory now mean other passages, so catching up by ids would be wrong."""
    backup = tmp_path / "backup.sqlite3"
    with sqlite3.connect(folder / DB_NAME) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    reader = Index.open(folder, embedder)
    writer = ArticleIndexer(reader, Settings(index_dir=folder))
    writer.delete(["art-0003"])
    writer.run([ArticleIn.model_validate(article(3, version=2)).to_article()], save=False)
    reader.refresh()
    in_memory = set(reader.vectors.ids().tolist())
    with sqlite3.connect(backup) as src, sqlite3.connect(folder / DB_NAME) as dst:  # restore in place
        src.backup(dst)
    other = Index.open(folder, embedder)  # another process writes after the restore
    ArticleIndexer(other, Settings(index_dir=folder)).run([ArticleIn.model_validate(article(77)).to_article()], save=False)
    reused = [p["passage_id"] for p in other.store.document("art-0077")["passages"]]
    other.close()
    assert set(reused) <= in_memory, "the test needs an id that now means another passage"
    assert reader.refresh()
    assert reader.check() == []
    scores, found = reader.vectors.search(reader.store.vectors(np.array(reused), embedder.dim), 1)
    assert found[:, 0].tolist() == reused and scores.min() > 0.999
    reader.close()


def test_a_damaged_vector_row_is_refused_with_a_clear_message(folder, embedder):
    for cache in folder.glob("vectors.g*.faiss"):
        cache.unlink()
    with sqlite3.connect(folder / DB_NAME) as conn:
        conn.execute("UPDATE passages SET vector = x'0000' WHERE id = (SELECT MIN(id) FROM passages)")
    with pytest.raises(IndexProblem, match=r"passage \d+ has a damaged vector \(2 bytes, expected 1536\)"):
        Index.open(folder, embedder)


def test_a_file_that_is_not_a_database_is_refused_with_a_clear_message(tmp_path, embedder):
    folder = tmp_path / "index"
    folder.mkdir()
    (folder / DB_NAME).write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(IndexProblem, match="damaged or not a Fundstelle index.*re-index"):
        Index.open(folder, embedder)


def test_lexical_rows_out_of_step_are_repaired_on_open(folder, embedder, caplog):
    with sqlite3.connect(folder / DB_NAME) as conn:
        conn.execute("DELETE FROM passages_fts WHERE rowid = (SELECT MIN(id) FROM passages)")
        conn.execute("INSERT INTO passages_fts (rowid, terms) VALUES (999999, 'verwaist')")
    with caplog.at_level(logging.WARNING, logger="store.index"):
        stored = verify_index(folder, embedder, {f"art-{i:04d}": article(i) for i in range(12)})
    assert len(stored) == 12
    assert "1 passages have no lexical (FTS) row; 1 lexical (FTS) rows belong to no passage; repairing" in caplog.text
