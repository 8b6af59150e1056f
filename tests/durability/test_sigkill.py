"""SIGKILL `fundstelle index` at several moments of a large run (150 articles, batches of 10);
after every kill the index must load, FAISS/SQLite/id mapping must agree, every article
committed before must still be there complete and findable, and each re-run must finish
the rest without redoing what was committed.

Kill points: right after a batch commit, inside a batch transaction (rows written, no COMMIT),
at a random moment from outside (mostly while a batch is being embedded), during the final
vector-cache save (temporary file written, not renamed) and, in an idempotent re-run, just
after the rename.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time

import pytest

from store.vectors import TMP_PREFIX, load
from tests.durability.articles import article, write_jsonl
from tests.durability.checks import store_generation, verify_index
from tests.durability.warm import WarmProcess, python_m
from tests.paths import REPO_ROOT

ARTICLES = 150
BATCH = 10


def crashy(point: str, jsonl, folder) -> WarmProcess:
    """`python -m tests.durability.crashy_index POINT -- index ...` as a process of its own, forked from a warm
    interpreter (tests/durability/warm.py: the imports done once, the model loaded by the process itself)."""
    return python_m("tests.durability.crashy_index", point, "--", "index", str(jsonl), "--index-dir", str(folder),
                    "--quiet", cwd=REPO_ROOT, env={**os.environ, "FUNDSTELLE_INDEX_BATCH_ARTICLES": str(BATCH)})


def killed(process: WarmProcess, timeout: float = 300) -> None:
    _, err = process.communicate(timeout=timeout)
    assert process.returncode == -signal.SIGKILL, f"expected death by SIGKILL, got {process.returncode}: {err[-2000:]}"


def committed_prefix(stored: dict, previous: set[str]) -> set[str]:
    """Batches commit whole and in order: the stored articles are the first k*BATCH of the input."""
    ids = set(stored)
    assert previous <= ids, f"articles committed before the crash are gone: {sorted(previous - ids)[:5]}"
    assert len(ids) % BATCH == 0 or len(ids) == ARTICLES, f"{len(ids)} articles: a batch was half-applied"
    assert ids == {f"art-{i:04d}" for i in range(len(ids))}
    return ids


@pytest.mark.slow
def test_sigkill_at_any_moment_leaves_the_old_or_the_new_state(tmp_path, embedder):
    items = [article(i) for i in range(ARTICLES)]
    by_id = {item["id"]: item for item in items}
    jsonl = write_jsonl(tmp_path / "articles.jsonl", items)
    folder = tmp_path / "index"

    # 1. killed right after its 3rd batch committed: exactly 3 batches are there, complete
    killed(crashy("commit:3", jsonl, folder))
    done = committed_prefix(verify_index(folder, embedder, by_id), set())
    assert len(done) == 3 * BATCH

    # 2. killed inside its 2nd transaction (rows inserted, not committed): rolled back whole
    killed(crashy("in-txn:2", jsonl, folder))
    done = committed_prefix(verify_index(folder, embedder, by_id), done)
    assert len(done) == 4 * BATCH

    # 3. killed from outside at a random moment once two more batches have committed
    process = crashy("never", jsonl, folder)
    start = store_generation(folder)
    deadline = time.monotonic() + 240
    while store_generation(folder) < start + 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed"
    time.sleep(random.Random(5).uniform(0.05, 0.6))  # mostly mid-batch: embedding or committing
    process.send_signal(signal.SIGKILL)
    killed(process)
    done = committed_prefix(verify_index(folder, embedder, by_id), done)
    assert len(done) >= 6 * BATCH

    # 4. killed during the final cache save: everything committed, the cache file never renamed
    killed(crashy("save-tmp", jsonl, folder))
    assert list(folder.glob(f"{TMP_PREFIX}*.tmp")), "the kill should leave the temporary file behind"
    assert not list(folder.glob("vectors.g*.faiss"))
    done = committed_prefix(verify_index(folder, embedder, by_id), done)
    assert len(done) == ARTICLES

    # 5. a re-run finds everything unchanged (writes nothing); killed right after renaming the cache
    generation = store_generation(folder)
    killed(crashy("save-renamed", jsonl, folder))
    assert store_generation(folder) == generation, "the re-run wrote although nothing had changed"
    caches = list(folder.glob("vectors.g*.faiss"))
    assert len(caches) == 1 and not list(folder.glob(f"{TMP_PREFIX}*.tmp")), "stale temporary files are cleaned up"
    assert caches[0].name == f"vectors.g{generation}.faiss"
    cached, why = load(folder, generation, embedder.dim)
    assert cached is not None, why
    assert len(verify_index(folder, embedder, by_id)) == ARTICLES


@pytest.mark.slow
def test_sigkill_between_the_sqlite_and_the_lexical_commit_heals_on_the_next_open(tmp_path, embedder):
    """The lexical (tantivy) index is committed after SQLite: a kill between the two, or between the
    tantivy commit and its state file, leaves it behind; the next open catches it up, with no passage
    twice (check() compares its passage count with the store's) and every article findable."""
    items = [article(i) for i in range(4 * BATCH)]
    by_id = {item["id"]: item for item in items}
    jsonl = write_jsonl(tmp_path / "articles.jsonl", items)
    folder = tmp_path / "index"

    killed(crashy("sqlite-commit:2", jsonl, folder))  # batch 2 in SQLite only
    state = json.loads((folder / "lexical" / "state.json").read_text())
    assert state["generation"] == store_generation(folder) - 1, "the lexical index should lag one write"
    done = committed_prefix(verify_index(folder, embedder, by_id), set())
    assert len(done) == 2 * BATCH

    killed(crashy("lexical-commit:1", jsonl, folder))  # batch 3 in SQLite and tantivy, the state one behind
    state = json.loads((folder / "lexical" / "state.json").read_text())
    assert state["generation"] == store_generation(folder) - 1
    done = committed_prefix(verify_index(folder, embedder, by_id), done)
    assert len(done) == 3 * BATCH

    process = crashy("never", jsonl, folder)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-2000:]
    assert len(committed_prefix(verify_index(folder, embedder, by_id), done)) == 4 * BATCH
