"""Concurrency inside and across Index instances (in-process, real model, small articles).

- a reader refreshing while a writer in the same process commits never sees half a change:
  the in-memory vectors always hold exactly the passages of some committed state;
- writers through separate Index instances (as separate processes would) are serialised by
  the lock file, never interleaved, and no write is lost.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import numpy as np

from core.settings import Settings
from indexer.ingest.schema import ArticleIn
from indexer.pipeline import ArticleIndexer
from store.index import Index
from tests.durability.articles import article
from tests.durability.checks import verify_index


def as_article(item: dict):
    return ArticleIn.model_validate(item).to_article()


def long_version(i: int, version: int) -> dict:
    """Versions with different numbers of passages, so a half-applied replace would show."""
    item = article(i, version)
    paragraphs = [item["text"]] + [
        f"Absatz {n} der Fassung {version}: Der Ausschuss hat die Unterlagen geprüft und eine "
        f"Stellungnahme vorgelegt, die im Rathaus ausliegt und online abrufbar ist." for n in range(version % 3 * 2)
    ]
    return {**item, "text": "\n\n".join(paragraphs)}


def test_refresh_racing_with_writes_never_shows_half_a_change(tmp_path, embedder):
    folder = tmp_path / "index"
    settings = Settings(index_dir=folder)
    index = Index.open(folder, embedder, create=True)
    writer = ArticleIndexer(index, settings)
    writer.run([as_article(article(i)) for i in range(4)])
    other = Index.open(folder, embedder)  # a second reader, as another process would have

    states = [frozenset(index.store.passage_ids().tolist())]
    observed: list[frozenset] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    query = embedder.encode_queries(["Was hat der Gemeinderat beschlossen?"])

    def read(reader: Index) -> None:
        try:
            while not stop.is_set():
                reader.refresh()
                observed.append(frozenset(reader.vectors.ids().tolist()))
                reader.vectors.search(query, 5)
                time.sleep(0.002)  # keep polling, but leave the writer some CPU
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(r,)) for r in (index, index, other)]
    for t in threads:
        t.start()
    try:
        for version in range(2, 10):
            if version % 4 == 0:
                writer.delete(["art-0001"])
            else:
                writer.run([as_article(long_version(1, version))], save=False)
            states.append(frozenset(index.store.passage_ids().tolist()))  # only this thread writes
            writer.run([as_article(long_version(2, version))], save=False)
            states.append(frozenset(index.store.passage_ids().tolist()))
            time.sleep(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert len(observed) > 50
    never_committed = set(observed) - set(states)
    assert not never_committed, f"{len(never_committed)} observed vector sets were never a committed state"
    for reader in (index, other):
        reader.refresh()
        assert reader.check() == []
    index.close()
    other.close()


def test_writers_in_separate_index_instances_are_serialised(tmp_path, embedder):
    folder = tmp_path / "index"
    Index.open(folder, embedder, create=True).close()
    held: list[tuple[str, float, float]] = []

    def recording(index: Index, name: str) -> None:
        original = index.write_lock

        @contextmanager
        def write_lock(timeout: float = 600):
            with original(timeout):
                start = time.monotonic()
                yield
                time.sleep(0.01)  # widen the window an interleaving would need
                held.append((name, start, time.monotonic()))

        index.write_lock = write_lock

    first = [article(i) for i in range(0, 12)]
    second = [article(i) for i in range(12, 24)] + [article(0, version=2)]  # one id written by both
    instances, failures = [], []

    def run(name: str, items: list[dict]) -> None:
        try:
            index = Index.open(folder, embedder)
            instances.append(index)
            recording(index, name)
            ArticleIndexer(index, Settings(index_dir=folder), batch_articles=3).run([as_article(i) for i in items])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=("a", first)), threading.Thread(target=run, args=("b", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    intervals = sorted((start, end) for _, start, end in held)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(intervals, intervals[1:], strict=False))
    assert {name for name, _, _ in held} == {"a", "b"}
    versions = {item["id"]: item for item in first + second[:-1]}
    stored = verify_index(folder, embedder, {k: v for k, v in versions.items() if k != "art-0000"})
    assert set(stored) == set(versions)  # nothing lost
    text = instances[0].store.document("art-0000")["text"]
    assert text in (article(0)["text"], article(0, version=2)["text"])  # one version, whole
    for index in instances:
        index.close()


def test_a_writer_waits_for_the_lock_instead_of_interleaving(tmp_path, embedder):
    folder = tmp_path / "index"
    index = Index.open(folder, embedder, create=True)
    other = Index.open(folder, embedder)
    writer = ArticleIndexer(other, Settings(index_dir=folder), lock_timeout=30)
    done = threading.Event()
    with index.write_lock():
        thread = threading.Thread(target=lambda: (writer.run([as_article(article(1))], save=False), done.set()))
        thread.start()
        time.sleep(1.0)
        assert not done.is_set(), "the write went ahead while another writer held the lock"
        assert index.store.counts() == (0, 0)
    thread.join(30)
    assert done.is_set()
    assert index.refresh() and index.counts()[0] == 1
    assert np.array_equal(np.sort(index.vectors.ids()), index.store.passage_ids())
    index.close()
    other.close()
