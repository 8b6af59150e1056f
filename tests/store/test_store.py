"""The SQLite store on its own (no model: small fake vectors): transactions, statuses, generations."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from core.documents import Article, Passage
from core.errors import Conflict, IndexProblem
from store.store import Prepared, Store

DIM = 4


def prepared(doc_id: str, text: str = "Erster Satz. Zweiter Satz.", passages: int = 2) -> Prepared:
    article = Article(doc_id=doc_id, title=f"Titel {doc_id}", text=text)
    step = max(1, len(text) // passages)
    items = [Passage(doc_id, n, 1, n * step, min(len(text), (n + 1) * step), text[n * step:(n + 1) * step])
             for n in range(passages)]
    vectors = np.random.default_rng(abs(hash(doc_id + text)) % 2**32).random((passages, DIM), dtype=np.float32)
    return Prepared(article, items, vectors, [["satz", doc_id.lower()] for _ in items])


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store.sqlite3")
    s.initialise()
    yield s
    s.close()


def test_upsert_reports_each_article_and_bumps_the_generation_once(store):
    result = store.upsert([prepared("a"), prepared("b", passages=3)])
    assert result.status == {"a": "added", "b": "added"} and result.passages == {"a": 2, "b": 3}
    assert result.generation == store.generation() == 1 and len(result.added) == 5 and not result.removed
    again = store.upsert([prepared("a"), prepared("b", "Neuer Text. Mit zwei Sätzen.", 1)])
    assert again.status == {"a": "unchanged", "b": "updated"} and again.passages == {"a": 2, "b": 1}
    assert store.generation() == 2 and len(again.removed) == 3 and len(again.added) == 1
    assert min(again.added) > max(result.added)  # ids only grow
    unchanged = store.upsert([prepared("a")])
    assert unchanged.status == {"a": "unchanged"} and store.generation() == 2  # nothing written, no bump
    assert store.counts() == (2, 3)
    assert store.problems() == []


def test_a_failing_batch_leaves_nothing_behind(store):
    store.upsert([prepared("a")])
    broken = prepared("c")
    broken = Prepared(broken.article, broken.passages, broken.vectors[:1], broken.terms)  # one vector short
    with pytest.raises(ValueError, match="differ in number"):
        store.upsert([prepared("b"), broken])
    assert store.counts() == (1, 2) and store.generation() == 1
    assert store.content_hashes(["a", "b", "c"]).keys() == {"a"}
    assert not store.conn.in_transaction


def test_create_only_refuses_other_content_under_an_existing_id(store):
    store.upsert([prepared("a")])
    with pytest.raises(Conflict, match="'a' exists"):
        store.upsert([prepared("b"), prepared("a", "Ganz anderer Text.")], create_only=True)
    assert store.counts() == (1, 2)  # b was not written either: one transaction
    assert store.upsert([prepared("a")], create_only=True).status == {"a": "unchanged"}


def test_delete_removes_rows_and_lexical_terms_in_one_transaction(store):
    store.upsert([prepared("a"), prepared("b")])
    deleted, removed = store.delete(["a", "nope"])
    assert deleted == ["a"] and len(removed) == 2
    assert store.counts() == (1, 2) and store.generation() == 2
    assert store.lexical('"a"', 10) == []
    assert store.delete(["nope"]) == ([], []) and store.generation() == 2
    assert store.problems() == []


def test_a_reader_snapshot_does_not_see_a_write_committed_meanwhile(store, tmp_path):
    store.upsert([prepared("a")])
    writer = Store(tmp_path / "store.sqlite3")
    with store.snapshot() as conn:
        before = conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        threading.Thread(target=lambda: writer.upsert([prepared("b")])).start()
        for _ in range(100):
            if writer.generation() == 2:
                break
            threading.Event().wait(0.02)
        assert conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0] == before
        with store.snapshot() as inner:  # re-entrant: joins the outer snapshot
            assert inner.execute("SELECT COUNT(*) FROM passages").fetchone()[0] == before
    assert store.counts() == (2, 4)
    writer.close()


def test_problems_and_damaged_vectors_are_reported(store):
    store.upsert([prepared("a")])
    with store.write() as conn:
        conn.execute("DELETE FROM passages_fts WHERE rowid = (SELECT MIN(id) FROM passages)")
    assert store.problems() == ["1 passages have no lexical (FTS) row"]
    with store.write() as conn:
        conn.execute("UPDATE passages SET vector = x'00'")
    with store.snapshot() as conn, pytest.raises(IndexProblem, match="damaged vector"):
        store.all_vectors(DIM, conn)


def test_a_second_model_cannot_write_into_the_index(store):
    store.upsert([prepared("a")], meta={"model_fingerprint": "one"})
    with pytest.raises(IndexProblem, match="fingerprint one"):
        store.upsert([prepared("b")], meta={"model_fingerprint": "two"})
    assert store.counts() == (1, 2)


def test_document_text_and_passages_come_from_one_version(store):
    store.upsert([prepared("a", "Alpha beta. Gamma delta.", 2)])
    document = store.document("a")
    for p in document["passages"]:
        assert 0 <= p["char_start"] < p["char_end"] <= len(document["text"])
    assert store.document("missing") is None
    total, page = store.page(0, 10)
    assert total == 1 and page[0]["doc_id"] == "a" and page[0]["passages"] == 2


def test_writes_from_two_connections_are_serialised_by_sqlite(tmp_path):
    first = Store(tmp_path / "s.sqlite3")
    first.initialise()
    second = Store(tmp_path / "s.sqlite3")
    with first.write(), pytest.raises(sqlite3.OperationalError, match="locked"):
        second.conn.execute("PRAGMA busy_timeout = 50")
        with second.write():
            pass
    assert second.upsert([prepared("x")]).status == {"x": "added"}
    first.close()
    second.close()


def test_author_place_and_pages_are_stored_and_read_back(store):
    text = "Seite eins. Noch ein Satz.\n\nSeite zwei. Schluss."
    article = Article(doc_id="pdf", title="Bericht", text=text, author="Katharina Mehlhorn", place="Gießen",
                      pages=(0, text.index("Seite zwei")))
    passages = [Passage("pdf", 0, 1, 0, 26, text[:26]), Passage("pdf", 1, 2, 28, len(text), text[28:])]
    store.upsert([Prepared(article, passages, np.ones((2, DIM), np.float32), [["seit"], ["seit"]])])
    document = store.document("pdf")
    assert (document["author"], document["place"]) == ("Katharina Mehlhorn", "Gießen")
    assert [p["page"] for p in document["passages"]] == [1, 2]
    read = store.passages(store.passage_ids().tolist())
    assert {p.author for p in read.values()} == {"Katharina Mehlhorn"}
    second = next(p for p in read.values() if p.ordinal == 1)
    assert second.pages == article.pages and second.page_of(0) == 2
    assert store.page(0, 10)[1][0]["author"] == "Katharina Mehlhorn"


def test_the_prose_of_an_article_is_what_its_passages_cover(store):
    text = "Titel\n15.10.2024, 04:15\nErster Absatz.\n\nZweiter Absatz.\nMehr «International»\nDritter Absatz."
    spans = [(text.index(s), text.index(s) + len(s)) for s in ("Erster Absatz.", "Zweiter Absatz.", "Dritter Absatz.")]
    article = Article(doc_id="t", title="Titel", text=text)
    passages = [Passage("t", n, n + 1, s, e, text[s:e]) for n, (s, e) in enumerate(spans)]
    store.upsert([Prepared(article, passages, np.ones((3, DIM), np.float32), [["a"]] * 3)])
    prose = store.document("t")["prose"]
    assert prose == [[spans[0][0], spans[1][1]], list(spans[2])]  # blank lines join, a left-out line splits


def test_an_index_from_before_the_new_columns_gets_them_on_open(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # the documents table as indexes of the first release have it
        conn.execute("CREATE TABLE documents (doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT,"
                     " published TEXT, url TEXT, text TEXT NOT NULL, content_hash TEXT NOT NULL, indexed_at REAL NOT NULL)")
        conn.execute("INSERT INTO documents VALUES ('alt', 'Alt', NULL, NULL, NULL, 'Alter Text.', 'h', 0)")
    old = Store(path)
    old.initialise()
    assert old.upgrade() is True
    assert old.document("alt")["author"] is None and old.upgrade() is False
    old.close()


def test_a_section_heading_between_passages_is_prose(store):
    text = "Titel\nKommentar-Box\nErster Absatz.\n\nZwischentitel\n\nZweiter Absatz.\nLeserkommentar"
    first, second = (text.index(s) for s in ("Erster Absatz.", "Zweiter Absatz."))
    passages = [Passage("h", 0, 1, first, first + 14, text[first:first + 14]),
                Passage("h", 1, 2, second, second + 15, text[second:second + 15], heading="Zwischentitel")]
    store.upsert([Prepared(Article(doc_id="h", title="Titel", text=text), passages, np.ones((2, DIM), np.float32),
                           [["a"], ["b"]])])
    assert store.document("h")["prose"] == [[first, second + 15]]  # the heading joins, the box and comment do not
