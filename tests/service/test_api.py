"""The HTTP contract against a real `fundstelle serve` on loopback with a real index."""

import re

import pytest

from text.cleaning import clean

QUESTION = "Wie viele nordkoreanische Soldaten sind in Russland?"


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def answer(client):
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_answer_passage_is_in_the_top_three(answer):
    assert answer["question"] == QUESTION
    assert len(answer["passages"]) == 5
    assert any("mehr als 10.000" in p["text"] for p in answer["passages"][:3])


def test_passages_follow_the_contract(answer):
    assert isinstance(answer["took_ms"], (int, float))
    assert answer["answer_found"] is True and answer["partial"] is False and answer["missing_shards"] == []
    assert (answer["sort"], answer["group"]) == ("relevance", "passage")
    for rank, passage in enumerate(answer["passages"], start=1):
        assert passage["rank"] == rank
        assert set(passage) >= {"rank", "score", "passage_id", "text", "highlights", "citation"}
        assert set(passage["citation"]) >= {
            "doc_id", "title", "source", "published", "url", "author", "page", "paragraph", "char_start", "char_end",
        }
        assert passage["citation"]["page"] is None  # no PDF in the bundled corpus
        assert 0 <= passage["confidence"] <= 1
        assert passage["highlights"], "at least the best sentence is highlighted"
        for h in passage["highlights"]:
            assert 0 <= h["start"] < h["end"] <= len(passage["text"])
    scores = [p["score"] for p in answer["passages"]]
    assert scores == sorted(scores, reverse=True)


def test_citation_points_exactly_into_the_article(client, answer):
    for passage in answer["passages"]:
        c = passage["citation"]
        document = client.get(f"/api/documents/{c['doc_id']}").json()
        assert document["text"][c["char_start"] : c["char_end"]] == passage["text"]
        assert document["title"] == c["title"]
        # paragraphs as a reader counts them (the body paragraphs cleaning keeps; title, dateline and byline
        # are not paragraphs): the citation names the one where the best sentence stands
        best = c["char_start"] + passage["highlights"][0]["start"]
        paragraphs = clean(document["text"], document["title"])
        assert [p.paragraph for p in paragraphs if p.start <= best < p.end] == [c["paragraph"]]


def test_best_sentence_is_highlighted(answer):
    top = next(p for p in answer["passages"] if "mehr als 10.000" in p["text"])
    marked = [top["text"][h["start"] : h["end"]] for h in top["highlights"]]
    assert any("mehr als 10.000" in m for m in marked)


def test_top_k(client):
    response = client.post("/api/ask", json={"question": QUESTION, "top_k": 2})
    assert len(response.json()["passages"]) == 2


def test_document_list_is_paged(client):
    first = client.get("/api/documents", params={"limit": 2}).json()
    assert first["total"] == 5 and len(first["documents"]) == 2
    rest = client.get("/api/documents", params={"offset": 2, "limit": 10}).json()
    ids = [d["doc_id"] for d in first["documents"] + rest["documents"]]
    assert len(set(ids)) == 5
    assert all(d["passages"] > 0 for d in rest["documents"])


def test_document_and_unknown_document(client):
    document = client.get("/api/documents/003_b4d41754e5c68a6e").json()
    assert set(document) >= {"doc_id", "title", "source", "published", "url", "text"}
    assert document["source"] == "t-online" and document["published"] == "2024-10-15"
    missing = client.get("/api/documents/no-such-article")
    assert missing.status_code == 404 and "no-such-article" in missing.json()["detail"]


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] == 5 and ready["passages"] > 20


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"question": ""}, "question"),
        ({"question": "   "}, "question"),
        ({"question": "x" * 1001}, "question"),
        ({"top_k": 3}, "question"),
        ({"question": QUESTION, "top_k": 0}, "top_k"),
        ({"question": QUESTION, "top_k": 51}, "top_k"),
        ({"question": QUESTION, "top_k": "5"}, "top_k"),
        ({"question": QUESTION, "top_k": True}, "top_k"),
        ({"question": 42}, "question"),
        ([QUESTION], "object"),
    ],
)
def test_bad_questions_get_a_clear_422(client, body, fragment):
    response = client.post("/api/ask", json=body)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


def test_malformed_json_is_a_4xx(client):
    response = client.post("/api/ask", content=b'{"question": ', headers={"content-type": "application/json"})
    assert response.status_code == 422 and "malformed JSON" in response.json()["detail"]


def test_docs_work_offline(client):
    html = client.get("/docs").text
    assets = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200
    assert "https://" not in html and "http://" not in html
    schema = client.get("/openapi.json").json()
    assert {"/api/ask", "/api/documents", "/api/documents/{doc_id}", "/healthz", "/readyz"} <= set(schema["paths"])


def test_metrics_count_requests_and_index_size(client):
    client.post("/api/ask", json={"question": QUESTION, "top_k": 1})
    text = client.get("/metrics").text
    assert 'fundstelle_http_requests_total{method="POST",route="/api/ask",status="200"}' in text
    assert re.search(r"^fundstelle_documents 5\.0$", text, re.M)
    assert "fundstelle_search_seconds_bucket" in text
