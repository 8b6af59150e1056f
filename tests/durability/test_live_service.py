"""The real service (`fundstelle serve`'s app under uvicorn, in the test's process) keeps answering
while two `fundstelle index` processes and HTTP writes change its index at the same time.

While they run, every answer and every document the service returns must be a complete
committed article (all its passages, text and offsets agreeing): never half of a batch, never
a 5xx. Afterwards the service sees everything without a restart, no write was lost (one
generation per committed batch), and the index on disk is consistent.
"""

from __future__ import annotations

import os
import threading
import time

from tests.conftest import serve_here, served_settings, stop_server
from tests.durability.articles import article, write_jsonl
from tests.durability.checks import expected_passages, store_generation, verify_index
from tests.durability.warm import WarmProcess, python_m
from tests.paths import REPO_ROOT

BATCH = 4


def start_index(jsonl, folder) -> WarmProcess:
    """`fundstelle index` (python -m cli index) as a process of its own, forked from a warm interpreter
    (tests/durability/warm.py: the imports done once, the model loaded by the process itself)."""
    return python_m("cli", "index", str(jsonl), "--index-dir", str(folder), "--quiet", cwd=REPO_ROOT,
                    env={**os.environ, "FUNDSTELLE_INDEX_BATCH_ARTICLES": str(BATCH)})


def test_service_serves_whole_states_while_other_processes_write(index_copy, tmp_path, embedder):
    folder = index_copy
    first = [article(i) for i in range(0, 12)]
    second = [article(i) for i in range(100, 112)]
    posted = [article(i) for i in range(200, 203)]
    everything = {item["id"]: item for item in first + second + posted}
    expected = {doc_id: expected_passages(item) for doc_id, item in everything.items()}

    server = serve_here(served_settings(folder))  # the service in this process; the writers are processes of their own
    problems: list[str] = []
    seen: set[str] = set()
    stop = threading.Event()

    def check_hit(client, hit: dict) -> None:
        c = hit["citation"]
        response = client.get(f"/api/documents/{c['doc_id']}")
        if response.status_code != 200:
            problems.append(f"answer cites {c['doc_id']}, which answers {response.status_code}")
            return
        document = response.json()
        if document["text"][c["char_start"]:c["char_end"]] != hit["text"]:
            problems.append(f"passage {hit['passage_id']} does not match its article")
        if c["doc_id"] in everything:
            seen.add(c["doc_id"])
            if document["text"] != everything[c["doc_id"]]["text"] or \
                    len(document["passages"]) != expected[c["doc_id"]]:
                problems.append(f"{c['doc_id']} served incomplete: {len(document['passages'])} passages")

    def poll() -> None:
        question = {"question": "Was hat der Gemeinderat beschlossen?", "top_k": 5}
        with server.client() as client:
            while not stop.is_set():
                responses = [client.get("/readyz"), client.get("/api/documents", params={"limit": 500}),
                             client.post("/api/ask", json=question)]
                for response in responses:
                    if response.status_code != 200:
                        problems.append(f"{response.request.url}: {response.status_code} {response.text[:200]}")
                listing, answer = responses[1].json(), responses[2].json()
                for summary in listing.get("documents", []):
                    if summary["doc_id"] in expected and summary["passages"] != expected[summary["doc_id"]]:
                        problems.append(f"{summary['doc_id']} listed with {summary['passages']} passages")
                for hit in answer.get("passages", []):
                    check_hit(client, hit)
                stop.wait(0.5)  # leave the CPU to the writers

    try:
        generation = store_generation(folder)
        poller = threading.Thread(target=poll)
        poller.start()
        writers = [start_index(write_jsonl(tmp_path / "first.jsonl", first), folder),
                   start_index(write_jsonl(tmp_path / "second.jsonl", second), folder)]
        with server.client() as client:
            for item in posted:  # HTTP writes in between
                time.sleep(1.5)
                response = client.post("/api/documents", json=item, headers=server.auth)
                assert response.status_code == 201, response.text
            outputs = [w.communicate(timeout=300) for w in writers]
            for writer, (out, err) in zip(writers, outputs, strict=True):
                assert writer.returncode == 0, err[-2000:]
                assert "12 added, 0 updated, 0 unchanged, 0 skipped" in out
            time.sleep(1)
            stop.set()
            poller.join()
            assert not problems, problems[:10]
            assert seen, "the poller never saw a new article while the writers ran"

            # everything committed is visible without a restart; no write lost, none merged
            commits = 2 * (12 // BATCH) + len(posted)
            ready = client.get("/readyz").json()
            assert ready["documents"] == 5 + len(everything)
            assert ready["generation"] == generation + commits == store_generation(folder)
            for doc_id in ("art-0111", "art-0201", "art-0007"):
                question = everything[doc_id]["title"] + "?"
                top = client.post("/api/ask", json={"question": question, "top_k": 3}).json()
                assert doc_id in [p["citation"]["doc_id"] for p in top["passages"]], (question, top)
    finally:
        stop.set()
        stop_server(server)  # its shutdown saves the vector cache for the state it serves

    assert (folder / f"vectors.g{store_generation(folder)}.faiss").exists()
    stored = verify_index(folder, embedder, everything)
    assert set(everything) <= set(stored)
