"""An index folder: the store and its vector base file kept in step (real SQLite, real FAISS).

No model: passages get clustered random unit vectors through the real ``Store.upsert`` path,
so these tests cover the vector side (catch-up from the tombstone log, base files, compaction,
the switch from exact to ANN) without embedding anything.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

import numpy as np
import pytest

from core.documents import Article, Passage
from store import vectors as vx
from store.index import DB_NAME, Index
from store.store import Prepared

DIM = 16


@dataclass
class FakeEmbedder:
    """What the index needs of an encoder: dim, fingerprint, name (nothing is embedded here)."""

    dim: int = DIM
    fingerprint: str = "fake-0001"
    name: str = "fake-encoder"


class Corpus:
    """Articles of a few passages each, their vectors around shared topics (neighbours exist)."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.topics = self.rng.standard_normal((12, DIM)).astype(np.float32)

    def article(self, doc_id: str, passages: int = 3) -> Prepared:
        text = " ".join(f"Satz {n} von {doc_id}." for n in range(passages))
        step = len(text) // passages
        items = [Passage(doc_id, n, 1, n * step, (n + 1) * step, text[n * step:(n + 1) * step])
                 for n in range(passages)]
        x = self.topics[self.rng.integers(len(self.topics))] + 0.7 * self.rng.standard_normal(
            (passages, DIM)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return Prepared(Article(doc_id=doc_id, title=f"Titel {doc_id}", text=text), items, x,
                        [["satz", doc_id.lower()] for _ in items])


def write(index: Index, items: list[Prepared]) -> None:
    with index.write_lock():
        index.store.upsert(items, meta=index.model_meta())


def delete(index: Index, doc_ids: list[str]) -> None:
    with index.write_lock():
        index.store.delete(doc_ids)


def every_vector_finds_itself(index: Index) -> None:
    ids = index.store.passage_ids()
    scores, found = index.vectors.search(index.store.vectors(ids, DIM), 1)
    assert np.array_equal(found[:, 0], ids) and scores.min() > 0.999


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "index"


@pytest.fixture
def low_threshold(monkeypatch):
    """The ANN from 300 vectors on (flat again below 150), so small tests cover it."""
    monkeypatch.setattr(vx, "ANN_THRESHOLD", 300)
    monkeypatch.setattr(vx, "FLAT_BELOW", 150)


def test_a_saved_base_is_caught_up_from_the_log_without_a_rewrite(folder, caplog):
    corpus = Corpus()
    index = Index.open(folder, FakeEmbedder(), create=True)
    write(index, [corpus.article(f"a{i}") for i in range(20)])
    assert index.save_vectors()
    (base,) = folder.glob("vectors.g*.faiss")
    write(index, [corpus.article(f"b{i}") for i in range(5)])
    delete(index, ["a3", "a4"])
    write(index, [corpus.article("a5", passages=2)])  # replaced: its old passages are gone
    index.close()
    with caplog.at_level(logging.INFO, logger="store.index"):
        reopened = Index.open(folder, FakeEmbedder())
    assert "rebuild" not in caplog.text and "building" not in caplog.text  # the base was used
    assert list(folder.glob("vectors.g*.faiss")) == [base]  # and not rewritten on open
    assert reopened.check() == []
    assert np.array_equal(reopened.vectors.ids(), reopened.store.passage_ids())
    every_vector_finds_itself(reopened)
    reopened.close()


def test_deletes_never_come_back(folder):
    corpus = Corpus()
    index = Index.open(folder, FakeEmbedder(), create=True)
    write(index, [corpus.article(f"a{i}") for i in range(10)])
    index.save_vectors()
    gone = [p["passage_id"] for p in index.store.document("a2")["passages"]]
    gone_vectors = index.store.vectors(np.array(gone), DIM)
    delete(index, ["a2"])
    index.refresh()
    reader = Index.open(folder, FakeEmbedder())  # another process: base + log
    for idx in (index, reader):
        _, found = idx.vectors.search(gone_vectors, 30)
        assert not set(found.ravel().tolist()) & set(gone)
    index.save_vectors()
    index.close()
    reader.close()
    again = Index.open(folder, FakeEmbedder())
    _, found = again.vectors.search(gone_vectors, 30)
    assert not set(found.ravel().tolist()) & set(gone) and again.check() == []
    again.close()


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_a_killed_save_falls_back_to_sqlite(folder, caplog, damage):
    corpus = Corpus()
    index = Index.open(folder, FakeEmbedder(), create=True)
    write(index, [corpus.article(f"a{i}") for i in range(12)])
    index.save_vectors()
    index.close()
    (base,) = folder.glob("vectors.g*.faiss")
    raw = base.read_bytes()
    base.write_bytes(raw[: len(raw) // 3] if damage == "truncate" else
                     raw[:200] + np.random.default_rng(1).bytes(len(raw) - 200))
    with caplog.at_level(logging.WARNING, logger="store.index"):
        reopened = Index.open(folder, FakeEmbedder())
    assert "rebuilding the vector cache from the store" in caplog.text and base.name in caplog.text
    assert reopened.check() == []  # rebuilt, and the bad file replaced at once
    every_vector_finds_itself(reopened)
    reopened.close()


def test_a_base_the_store_does_not_vouch_for_is_not_used(folder, caplog):
    """E.g. a store restored from a backup made before the base was written."""
    corpus = Corpus()
    index = Index.open(folder, FakeEmbedder(), create=True)
    write(index, [corpus.article(f"a{i}") for i in range(6)])
    backup = folder.parent / "backup.sqlite3"
    with sqlite3.connect(folder / DB_NAME) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    write(index, [corpus.article(f"b{i}") for i in range(6)])
    index.save_vectors()
    index.close()
    with sqlite3.connect(backup) as src, sqlite3.connect(folder / DB_NAME) as dst:
        src.backup(dst)
    other = Index.open(folder, FakeEmbedder())  # writes reuse the ids the base holds for b*
    write(other, [corpus.article(f"c{i}") for i in range(8)])
    other.close()
    with caplog.at_level(logging.WARNING, logger="store.index"):
        reopened = Index.open(folder, FakeEmbedder())
    assert "was not written for this store" in caplog.text or "newer than the store" in caplog.text
    assert reopened.check() == []
    every_vector_finds_itself(reopened)
    reopened.close()


def test_the_switch_from_flat_to_ann_keeps_every_id_searchable(folder, low_threshold):
    corpus = Corpus()
    index = Index.open(folder, FakeEmbedder(), create=True)
    write(index, [corpus.article(f"a{i}", passages=4) for i in range(60)])  # 240 vectors: exact
    index.save_vectors()
    assert index.vectors.kind == "flat"
    write(index, [corpus.article(f"b{i}", passages=4) for i in range(40)])  # 400: past the threshold
    index.refresh()
    every_vector_finds_itself(index)
    assert index.save_vectors() and index.vectors.kind == "ivf"
    assert vx.read_header_fields(next(folder.glob("vectors.g*.faiss")))["kind"] == "ivf"
    every_vector_finds_itself(index)
    index.close()
    reopened = Index.open(folder, FakeEmbedder())
    assert reopened.vectors.kind == "ivf" and reopened.check() == []
    every_vector_finds_itself(reopened)
    delete(reopened, [f"b{i}" for i in range(40)] + [f"a{i}" for i in range(30)])  # 120 left: below 150
    reopened.save_vectors()
    assert reopened.vectors.kind == "flat" and reopened.check() == []
    every_vector_finds_itself(reopened)
    reopened.close()


def test_compaction_rewrites_the_ann_base_only_when_enough_changed_and_keeps_content(folder, low_threshold,
                                                                                      monkeypatch):
    import store.index as index_module

    monkeypatch.setattr(index_module, "COMPACT_MIN", 50)
    corpus = Corpus()
    index = Index.open(folder, FakeEmbedder(), create=True)
    write(index, [corpus.article(f"a{i}", passages=4) for i in range(100)])
    index.save_vectors()
    (first,) = folder.glob("vectors.g*.faiss")
    assert index.vectors.kind == "ivf"
    write(index, [corpus.article(f"b{i}", passages=2) for i in range(5)])  # 10 changed: below 50
    assert not index.compaction_due() and index.save_vectors()
    assert list(folder.glob("vectors.g*.faiss")) == [first]  # no rewrite
    delete(index, [f"a{i}" for i in range(10)])
    write(index, [corpus.article(f"c{i}", passages=4) for i in range(10)])  # 90 more changed
    assert index.compaction_due() and index.save_vectors()
    (second,) = folder.glob("vectors.g*.faiss")
    assert second.name == f"vectors.g{index.generation}.faiss" != first.name
    index.close()
    reopened = Index.open(folder, FakeEmbedder())
    assert reopened.check() == [] and reopened.vectors.ntotal == 100 * 4 - 40 + 10 + 40
    every_vector_finds_itself(reopened)
    reopened.close()


def test_a_reader_behind_the_pruned_log_catches_up_by_comparing_ids(folder):
    corpus = Corpus()
    writer = Index.open(folder, FakeEmbedder(), create=True)
    write(writer, [corpus.article(f"a{i}") for i in range(10)])
    writer.save_vectors()
    reader = Index.open(folder, FakeEmbedder())
    for round_ in range(3):  # each save prunes the log up to the previous base
        delete(writer, [f"a{round_}"])
        write(writer, [corpus.article(f"n{round_}")])
        writer.save_vectors()
    assert writer.store.tombstones_since() > reader.generation
    assert reader.refresh() and reader.check() == []
    every_vector_finds_itself(reader)
    writer.close()
    reader.close()


def test_an_index_made_before_the_tombstone_log_is_upgraded_on_open(folder):
    corpus = Corpus()
    index = Index.open(folder, FakeEmbedder(), create=True)
    write(index, [corpus.article(f"a{i}") for i in range(4)])
    index.close()
    with sqlite3.connect(folder / DB_NAME) as conn:  # as the previous version left it
        conn.execute("DROP TRIGGER passages_tombstone")
        conn.execute("DROP TABLE passage_tombstones")
        conn.execute("DELETE FROM meta WHERE key IN ('tombstones_since', 'vector_bases')")
    for path in folder.glob("vectors.g*.faiss"):
        path.write_bytes(b"FSVEC\x00\x01\n" + path.read_bytes()[8:])  # a cache of the old format
    upgraded = Index.open(folder, FakeEmbedder())
    assert upgraded.store.tombstones_since() == upgraded.generation
    delete(upgraded, ["a1"])
    logged = upgraded.store.conn.execute("SELECT COUNT(*) FROM passage_tombstones").fetchone()[0]
    assert logged == 3 and upgraded.refresh() and upgraded.check() == []
    upgraded.close()


def test_store_generation_and_lexical_repair_are_public(folder):
    corpus = Corpus()
    index = Index.open(folder, FakeEmbedder(), create=True)
    write(index, [corpus.article("a")])
    with index.store.snapshot() as conn:
        assert index.store.generation(conn) == index.store.generation() == 1
    with index.store.write() as conn:
        conn.execute("DELETE FROM passages_fts WHERE rowid = (SELECT MIN(id) FROM passages)")
    assert index.repair_store() == ["1 passages have no lexical (FTS) row"]
    assert index.store.problems() == [] and index.store.generation() == 2
    index.close()


def test_the_recorded_fingerprint_is_read_without_opening_the_index(folder, tmp_path):
    """FUNDSTELLE_ENCODER=auto asks which model built an index before it loads one (store.index.recorded_fingerprint)."""
    assert Index.recorded_fingerprint(tmp_path / "nothing-here") is None
    index = Index.open(folder, FakeEmbedder(), create=True)
    assert Index.recorded_fingerprint(folder) is None  # nothing written: the first write records the model
    write(index, [Corpus().article("A")])
    assert Index.recorded_fingerprint(folder) == "fake-0001"
    index.close()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / DB_NAME).write_bytes(b"not a database at all" * 100)
    assert Index.recorded_fingerprint(tmp_path / "broken") is None  # opening it says what is wrong
