"""The lexical index (tantivy) beside the store: kept in step by every write and delete, caught up by a
reader that finds it behind, rebuilt from SQLite when it cannot be trusted (real SQLite, real tantivy)."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date

import pytest

from core.documents import Article
from core.filters import Filters
from store.index import Index
from store.lexical_index import FOLDER, STATE
from tests.store.test_index import Corpus, FakeEmbedder, delete, write


def ids_of(index: Index, word: str) -> set[int]:
    return {pid for pid, _ in index.lexical.search([word], 1000)}


def passages_of(index: Index, doc_id: str) -> set[int]:
    return {p["passage_id"] for p in index.store.document(doc_id)["passages"]}


@pytest.fixture
def index(tmp_path):
    index = Index.open(tmp_path / "index", FakeEmbedder(), create=True)
    yield index
    index.close()


def test_every_write_and_delete_is_in_the_lexical_index_at_once(index):
    corpus = Corpus()
    write(index, [corpus.article(f"A{n}") for n in range(5)])
    assert ids_of(index, "a3") == passages_of(index, "A3")
    write(index, [corpus.article("A3", passages=2)])  # replaced: its old passages are gone
    assert ids_of(index, "a3") == passages_of(index, "A3") and len(passages_of(index, "A3")) == 2
    delete(index, ["A1"])
    assert ids_of(index, "a1") == set()
    assert index.lexical.problems(index.store) == [] and index.check() == []
    assert index.lexical_follows(index.store.conn)


def test_a_reader_behind_catches_up_and_asks_fts5_until_then(tmp_path):
    corpus = Corpus()
    reader = Index.open(tmp_path / "index", FakeEmbedder(), create=True)
    writer = Index.open(tmp_path / "index", FakeEmbedder())
    writer.store.after_write = None  # a writer of older code: SQLite only
    write(writer, [corpus.article("B1")])
    with reader.store.snapshot() as conn:
        assert not reader.lexical_follows(conn)  # behind: the retriever would ask FTS5
    reader.refresh()  # no writer holds the lock: the reader catches it up
    assert ids_of(reader, "b1") == passages_of(reader, "B1")
    writer.close()
    reader.close()


@pytest.mark.parametrize("damage", ["missing", "state", "schema", "ahead", "garbage"])
def test_a_lexical_index_that_cannot_be_trusted_is_rebuilt_from_sqlite(tmp_path, damage, caplog):
    corpus = Corpus()
    index = Index.open(tmp_path / "index", FakeEmbedder(), create=True)
    write(index, [corpus.article(f"C{n}") for n in range(4)])
    index.close()
    folder = tmp_path / "index" / FOLDER
    state = json.loads((folder / STATE).read_text())
    if damage == "missing":
        shutil.rmtree(folder)
    elif damage == "state":
        (folder / STATE).unlink()
    elif damage == "schema":
        (folder / STATE).write_text(json.dumps({**state, "schema": 0}))
    elif damage == "ahead":  # the store was restored from an older backup
        (folder / STATE).write_text(json.dumps({**state, "generation": state["generation"] + 5}))
    else:
        (folder / "meta.json").write_text("not json")
    with caplog.at_level(logging.WARNING):
        index = Index.open(tmp_path / "index", FakeEmbedder())
    assert index.lexical.problems(index.store) == []
    assert all(ids_of(index, f"c{n}") == passages_of(index, f"C{n}") for n in range(4))
    if damage != "missing":
        assert "rebuilding it from the store" in caplog.text
    index.close()


def test_a_log_pruned_past_its_generation_means_a_rebuild(tmp_path, caplog):
    corpus = Corpus()
    index = Index.open(tmp_path / "index", FakeEmbedder(), create=True)
    write(index, [corpus.article(f"D{n}") for n in range(3)])
    index.store.after_write = None
    delete(index, ["D0"])
    write(index, [corpus.article("D3")])
    index.store.prune_tombstones(index.store.generation())  # as a vector save may
    with caplog.at_level(logging.WARNING):
        assert index.catch_up_lexical()
    assert "no longer reaches back" in caplog.text
    assert ids_of(index, "d0") == set() and ids_of(index, "d3") == passages_of(index, "D3")
    assert index.lexical.problems(index.store) == []
    index.close()


def test_filters_act_inside_the_lexical_index(index):
    corpus = Corpus()
    items = []
    for n, (source, day) in enumerate([("Die Zeit", "2024-03-01"), ("die zeit", "2024-05-01T10:00"),
                                       ("Taz", "2024-04-01"), (None, "gestern")]):
        item = corpus.article(f"E{n}")
        items.append(type(item)(Article(item.article.doc_id, item.article.title, item.article.text, source=source,
                                        published=day), item.passages, item.vectors,
                                [["satz", "gemeinsam"] for _ in item.passages]))
    write(index, items)

    def docs(filters: Filters) -> set[str]:
        found = index.lexical.search(["gemeinsam"], 100, filters)
        return {p.doc_id for p in index.store.passages([pid for pid, _ in found]).values()}

    assert docs(Filters(sources=("DIE ZEIT",))) == {"E0", "E1"}  # case-folded, as the SQL filter
    assert docs(Filters(published_from=date(2024, 3, 15))) == {"E1", "E2"}  # no ISO date: never in a period
    assert docs(Filters(published_to=date(2024, 4, 1), sources=("taz", "die zeit"))) == {"E0", "E2"}
    assert docs(Filters(doc_ids=("E3", "E2"))) == {"E2", "E3"}


def test_fts5_alone_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("FUNDSTELLE_LEXICAL", "fts5")
    index = Index.open(tmp_path / "index", FakeEmbedder(), create=True)
    write(index, [Corpus().article("F1")])
    assert index.lexical is None and not (tmp_path / "index" / FOLDER).exists()
    with index.store.snapshot() as conn:
        assert not index.lexical_follows(conn)
    index.close()
    monkeypatch.setenv("FUNDSTELLE_LEXICAL", "bm42")
    with pytest.raises(ValueError, match="lexical\n  Input should be 'tantivy' or 'fts5'"):
        Index.open(tmp_path / "index", FakeEmbedder())
