"""The write API and the CLI writing to one index while a real `fundstelle serve` serves it.

Covers: bearer-token auth on every write route (401 with the wrong or no token, 403 when no
token is configured, read token), add / update / delete / re-add over HTTP and over the CLI,
content-hash no-ops, 409 on POST of other content, only the changed article re-embedded,
and the running service seeing the CLI's changes at once, without a restart.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from unittest import mock

import httpx
import pytest

from service.settings import ServiceSettings
from tests.conftest import API_TOKEN, Server, cli_here, serve_here, stop_server

CABLE_CAR = {
    "id": "seilbahn-goerlitz",
    "title": "Görlitz baut eine Seilbahn über die Neiße",
    "text": (
        "Die Stadt Görlitz baut eine Seilbahn über die Neiße nach Zgorzelec. "
        "Die Gondeln sollen ab dem Sommer 2026 alle fünf Minuten fahren.\n"
        "Die Baukosten liegen nach Angaben der Stadt bei 38 Millionen Euro."
    ),
    "source": "Lausitzer Testzeitung",
    "published": "2025-02-11",
    "url": "https://example.org/seilbahn",
}
CABLE_CAR_V2 = {**CABLE_CAR, "text": CABLE_CAR["text"].replace("38 Millionen", "41 Millionen")
                + "\nDer Stadtrat hat die Mehrkosten am Montag gebilligt."}
LIGHTHOUSE = {
    "id": "leuchtturm-hiddensee",
    "title": "Leuchtturm Dornbusch wird saniert",
    "text": (
        "Der Leuchtturm Dornbusch auf Hiddensee wird ab März saniert. "
        "Während der Arbeiten bleibt die Aussichtsplattform für Besucher geschlossen.\n"
        "Die Kosten von 2,4 Millionen Euro trägt das Land."
    ),
    "source": "Ostsee-Testblatt",
    "published": "2025-01-20",
}
CABLE_QUESTION = "Wie viel kostet die Seilbahn in Görlitz?"
LIGHTHOUSE_QUESTION = "Wann wird der Leuchtturm Dornbusch saniert?"
WRITE_ROUTES = [("POST", "/api/documents"), ("PUT", "/api/documents/some-id"), ("DELETE", "/api/documents/some-id")]


@pytest.fixture(scope="module")
def live(served_process):
    """The session's real `fundstelle serve` process on its own copy of the sample index (tests/conftest.py:
    started early, so it loads beside other tests); this module is its only user and stops it."""
    yield served_process
    stop_server(served_process)


@pytest.fixture(scope="module")
def client(live):
    with live.client() as c:
        yield c


def ask(client, question: str, top_k: int = 5) -> list[dict]:
    response = client.post("/api/ask", json={"question": question, "top_k": top_k})
    assert response.status_code == 200, response.text
    return response.json()["passages"]


def doc_ids(passages: list[dict]) -> list[str]:
    return [p["citation"]["doc_id"] for p in passages]


def state(client) -> tuple[int, int]:
    ready = client.get("/readyz").json()
    return ready["documents"], ready["generation"]


# -- auth -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {API_TOKEN}", "Bearer",
                                           f"Bearer {API_TOKEN}x", f"{API_TOKEN}", "Bearer tëst"])
def test_every_write_route_needs_the_bearer_token(client, method, path, authorization):
    before = state(client)
    headers = {"Authorization": authorization.encode()} if authorization is not None else {}
    for body in (json.dumps(CABLE_CAR | {"id": "some-id"}), "{not json", "x" * 10_000):
        response = client.request(method, path, content=body.encode(),
                                  headers={**headers, "content-type": "application/json"})
        # refused before the body is even looked at: no schema hints, no parsing work
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {"detail": "missing or wrong bearer token"}
    assert state(client) == before
    assert client.get("/api/documents/some-id").status_code == 404


def start_unready(env: dict) -> tuple[str, Server]:
    """A second server, configured from the environment as `fundstelle serve` reads it: the service's app
    on loopback in this process (serve_here), loading its index in the background, so its auth answers
    before the index has even loaded."""
    folder = env.pop("INDEX_DIR")
    with mock.patch.dict(os.environ, env):
        settings = ServiceSettings(index_dir=folder)
    served = serve_here(settings)
    return served.url, served


def test_without_a_configured_token_writes_are_refused_and_a_read_token_guards_reads(sample_index_dir, tmp_path):
    folder = tmp_path / "index"
    shutil.copytree(sample_index_dir, folder, ignore=shutil.ignore_patterns("*.lock"))
    url, process = start_unready({"INDEX_DIR": folder, "FUNDSTELLE_API_TOKEN": "",
                                  "FUNDSTELLE_READ_TOKEN": "read-secret"})
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            for method, path in WRITE_ROUTES:
                for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": f"Bearer {API_TOKEN}"},
                                {"Authorization": "Bearer read-secret"}):
                    response = c.request(method, path, json=CABLE_CAR, headers=headers)
                    assert response.status_code == 403, response.text
                    assert "FUNDSTELLE_API_TOKEN" in response.json()["detail"]
            for method, path, body in READS:
                for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer"}):
                    assert c.request(method, path, json=body, headers=headers).status_code == 401
            assert c.get("/healthz").status_code == 200
            wait_ready(c, {"Authorization": "Bearer read-secret"})
            for method, path, body in READS:
                allowed = c.request(method, path, json=body, headers={"Authorization": "Bearer read-secret"})
                assert allowed.status_code == 200, allowed.text
    finally:
        stop_server(process)


READS = [("GET", "/api/documents", None), ("GET", "/api/documents/003_b4d41754e5c68a6e", None),
         ("POST", "/api/ask", {"question": CABLE_QUESTION})]


def wait_ready(client: httpx.Client, headers: dict[str, str]) -> None:
    for _ in range(600):
        if client.get("/readyz", headers=headers).status_code == 200:
            return
        time.sleep(0.3)
    raise AssertionError("the server did not become ready")


def test_with_both_tokens_the_write_token_reads_too_and_the_read_token_cannot_write(sample_index_dir, tmp_path):
    folder = tmp_path / "index"
    shutil.copytree(sample_index_dir, folder, ignore=shutil.ignore_patterns("*.lock"))
    url, process = start_unready({"INDEX_DIR": folder, "FUNDSTELLE_API_TOKEN": API_TOKEN,
                                  "FUNDSTELLE_READ_TOKEN": "read-secret"})
    try:
        with httpx.Client(base_url=url, timeout=60) as c:
            wait_ready(c, {})
            for token in (API_TOKEN, "read-secret"):
                for method, path, body in READS:
                    response = c.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
                    assert response.status_code == 200, (token, path, response.text)
            refused = c.post("/api/documents", json=CABLE_CAR, headers={"Authorization": "Bearer read-secret"})
            assert refused.status_code == 401, refused.text
    finally:
        stop_server(process)


# -- HTTP lifecycle ---------------------------------------------------------------------------
def test_add_update_delete_and_readd_over_http(live, client):
    auth = live.auth
    other_before = client.get("/api/documents/003_b4d41754e5c68a6e").json()["passages"]
    documents, generation = state(client)
    assert CABLE_CAR["id"] not in doc_ids(ask(client, CABLE_QUESTION, 10))

    # add: 201, answers questions at once
    added = client.post("/api/documents", json=CABLE_CAR, headers=auth)
    assert added.status_code == 201, added.text
    assert added.json() == {"doc_id": CABLE_CAR["id"], "status": "added", "passages": added.json()["passages"]}
    assert added.json()["passages"] >= 1
    assert state(client) == (documents + 1, generation + 1)
    passages = ask(client, CABLE_QUESTION)
    assert passages[0]["citation"]["doc_id"] == CABLE_CAR["id"]
    assert "38 Millionen" in "".join(p["text"] for p in passages if p["citation"]["doc_id"] == CABLE_CAR["id"])
    stored = client.get(f"/api/documents/{CABLE_CAR['id']}").json()
    assert stored["text"] == CABLE_CAR["text"] and stored["url"] == CABLE_CAR["url"]
    first_ids = {p["passage_id"] for p in stored["passages"]}

    # the same article again: a no-op (content hash), nothing written
    again = client.post("/api/documents", json=CABLE_CAR, headers=auth)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    assert client.put(f"/api/documents/{CABLE_CAR['id']}", json=CABLE_CAR, headers=auth).json()["status"] == "unchanged"
    assert state(client) == (documents + 1, generation + 1)

    # other content under the same id: POST is a conflict, PUT replaces
    conflict = client.post("/api/documents", json=CABLE_CAR_V2, headers=auth)
    assert conflict.status_code == 409 and "PUT" in conflict.json()["detail"]
    updated = client.put(f"/api/documents/{CABLE_CAR['id']}", json=CABLE_CAR_V2, headers=auth)
    assert updated.status_code == 200 and updated.json()["status"] == "updated"
    assert state(client) == (documents + 1, generation + 2)
    stored = client.get(f"/api/documents/{CABLE_CAR['id']}").json()
    assert stored["text"] == CABLE_CAR_V2["text"]
    assert not first_ids & {p["passage_id"] for p in stored["passages"]}  # old passages are gone
    texts = [p["text"] for p in ask(client, CABLE_QUESTION, 10) if p["citation"]["doc_id"] == CABLE_CAR["id"]]
    assert any("41 Millionen" in t for t in texts) and not any("38 Millionen" in t for t in texts)
    # only the changed article was re-embedded: the other articles' passages are untouched
    assert client.get("/api/documents/003_b4d41754e5c68a6e").json()["passages"] == other_before

    # delete: gone from answers and reads, a second delete is a 404
    deleted = client.delete(f"/api/documents/{CABLE_CAR['id']}", headers=auth)
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    assert client.get(f"/api/documents/{CABLE_CAR['id']}").status_code == 404
    assert CABLE_CAR["id"] not in doc_ids(ask(client, CABLE_QUESTION, 10))
    assert CABLE_CAR["id"] not in [d["doc_id"] for d in client.get("/api/documents?limit=500").json()["documents"]]
    assert client.delete(f"/api/documents/{CABLE_CAR['id']}", headers=auth).status_code == 404
    assert state(client) == (documents, generation + 3)

    # re-add with PUT: 201 and findable again
    readded = client.put(f"/api/documents/{CABLE_CAR['id']}", json=CABLE_CAR, headers=auth)
    assert readded.status_code == 201 and readded.json()["status"] == "added"
    assert doc_ids(ask(client, CABLE_QUESTION))[0] == CABLE_CAR["id"]
    assert client.delete(f"/api/documents/{CABLE_CAR['id']}", headers=auth).status_code == 200


# -- CLI lifecycle against the served index -----------------------------------------------------
def index_cli(live, *paths, check: bool = True) -> subprocess.CompletedProcess:
    """`fundstelle index` in this process (with its model) into the index the `live` server process serves."""
    return cli_here("index", *map(str, paths), "--index-dir", str(live.index_dir), "--quiet", check=check)


def test_cli_add_update_delete_and_readd_are_seen_by_the_running_service(live, client, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    jsonl = inbox / "articles.jsonl"
    jsonl.write_text(json.dumps(LIGHTHOUSE) + "\n" + '{"id": "broken", "title": 5}\n'
                     + json.dumps(CABLE_CAR) + "\n", encoding="utf-8")
    (inbox / "scan.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (inbox / "latin1.md").write_bytes("Überschrift\n\nMünchen grüßt.".encode("latin-1"))
    documents, generation = state(client)

    # add (a folder with broken files: each is reported with its reason, the rest is indexed, exit code 2)
    result = index_cli(live, inbox, check=False)
    assert result.returncode == 2
    assert "3 added, 0 updated, 0 unchanged, 2 skipped, 1 warnings" in result.stdout
    assert re.search(r"skipped .*articles\.jsonl:2: ", result.stderr)
    assert re.search(r"skipped .*scan\.txt: binary file", result.stderr)
    assert re.search(r"warning: .*latin1\.md: decoded as cp1252", result.stderr)  # indexed, and said how
    assert state(client) == (documents + 3, generation + 1)  # one batch, one transaction
    assert doc_ids(ask(client, LIGHTHOUSE_QUESTION))[0] == LIGHTHOUSE["id"]  # no restart needed
    lighthouse_ids = [p["passage_id"] for p in client.get(f"/api/documents/{LIGHTHOUSE['id']}").json()["passages"]]

    # update one, leave the other: only the changed article is embedded
    jsonl.write_text(json.dumps(LIGHTHOUSE) + "\n" + json.dumps(CABLE_CAR_V2) + "\n", encoding="utf-8")
    result = index_cli(live, jsonl)
    passages = len(client.get(f"/api/documents/{CABLE_CAR['id']}").json()["passages"])
    assert f"0 added, 1 updated, 1 unchanged, 0 skipped, 0 warnings; {passages} passages embedded" in result.stdout
    assert [p["passage_id"] for p in client.get(f"/api/documents/{LIGHTHOUSE['id']}").json()["passages"]] \
        == lighthouse_ids
    texts = [p["text"] for p in ask(client, CABLE_QUESTION, 10) if p["citation"]["doc_id"] == CABLE_CAR["id"]]
    assert any("41 Millionen" in t for t in texts) and not any("38 Millionen" in t for t in texts)

    # delete (one unknown id: reported, exit code 1)
    result = cli_here("delete", LIGHTHOUSE["id"], "no-such-doc", "--index-dir", str(live.index_dir), check=False)
    assert result.returncode == 1
    assert f"deleted: {LIGHTHOUSE['id']}" in result.stdout and "not found: no-such-doc" in result.stdout
    assert client.get(f"/api/documents/{LIGHTHOUSE['id']}").status_code == 404
    assert LIGHTHOUSE["id"] not in doc_ids(ask(client, LIGHTHOUSE_QUESTION, 10))

    # re-add
    result = index_cli(live, jsonl)
    assert "1 added, 0 updated, 1 unchanged" in result.stdout
    assert doc_ids(ask(client, LIGHTHOUSE_QUESTION))[0] == LIGHTHOUSE["id"]
    assert state(client)[0] == documents + 3
