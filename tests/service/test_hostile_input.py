"""The bad-input table: every endpoint answers malformed, mistyped, empty, huge, mis-encoded
and path-trick input with a clear 4xx (never a 5xx), and the service keeps serving.

Runs against the shared real server (`server` fixture). Every write here is refused, so the
served index is unchanged afterwards (checked at the end).
"""

from __future__ import annotations

import json
import re
import socket

import pytest

from tests.conftest import API_TOKEN

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
JSON = {"content-type": "application/json"}
GOOD = {"id": "neu-1", "title": "Ein Titel", "text": "Ein Satz über den Gemeinderat."}
MAX_BODY = 5 * 1024 * 1024


def body(value) -> bytes:
    return json.dumps(value).encode()


# (name, method, path, content, extra headers, expected status, fragment of "detail")
CASES = [
    # /api/ask
    ("ask malformed JSON", "POST", "/api/ask", b'{"question": ', {}, 422, "malformed JSON"),
    ("ask invalid UTF-8", "POST", "/api/ask", b'{"question": "M\xfcnchen"}', {}, 400, "not valid UTF-8"),
    ("ask lone surrogate", "POST", "/api/ask", b'{"question": "\\ud800"}', {}, 422, "question"),
    ("ask NUL", "POST", "/api/ask", body({"question": "a\x00b"}), {}, 422, "NUL"),
    ("ask misspelt field", "POST", "/api/ask", body({"question": "Wer?", "topk": 1}), {}, 422, "did you mean 'top_k'"),
    ("ask empty body", "POST", "/api/ask", b"", {}, 422, "body: field required"),
    ("ask empty object", "POST", "/api/ask", b"{}", {}, 422, "question: field required"),
    ("ask null", "POST", "/api/ask", b"null", {}, 422, ""),
    ("ask array", "POST", "/api/ask", body(["Wer?"]), {}, 422, "object"),
    ("ask string body", "POST", "/api/ask", body("Wer?"), {}, 422, ""),
    ("ask number question", "POST", "/api/ask", body({"question": 42}), {}, 422, "question"),
    ("ask list question", "POST", "/api/ask", body({"question": ["a"]}), {}, 422, "question"),
    ("ask empty question", "POST", "/api/ask", body({"question": ""}), {}, 422, "question"),
    ("ask huge question", "POST", "/api/ask", body({"question": "Wer " * 250_000}), {}, 422, "question"),
    ("ask huge top_k", "POST", "/api/ask", b'{"question": "Wer?", "top_k": 1000000000000000000000000}', {}, 422,
     "top_k"),
    ("ask float top_k", "POST", "/api/ask", body({"question": "Wer?", "top_k": 2.5}), {}, 422, "top_k"),
    ("ask NaN top_k", "POST", "/api/ask", b'{"question": "Wer?", "top_k": NaN}', {}, 422, "top_k"),
    ("ask deep nesting", "POST", "/api/ask", b"[" * 100_000 + b"]" * 100_000, {}, 400, "nested too deeply"),
    ("ask text/plain", "POST", "/api/ask", b"Wer?", {"content-type": "text/plain"}, 422, ""),
    ("ask form", "POST", "/api/ask", b"question=Wer", {"content-type": "application/x-www-form-urlencoded"}, 422,
     ""),
    ("ask oversized", "POST", "/api/ask", b"x" * (MAX_BODY + 1), {}, 413, "too large"),
    # /api/documents (list)
    ("list limit text", "GET", "/api/documents?limit=abc", None, {}, 422, "limit"),
    ("list negative offset", "GET", "/api/documents?offset=-1", None, {}, 422, "offset"),
    ("list zero limit", "GET", "/api/documents?limit=0", None, {}, 422, "limit"),
    ("list huge limit", "GET", "/api/documents?limit=100000000000000000000", None, {}, 422, "limit"),
    ("list NUL param", "GET", "/api/documents?limit=%00", None, {}, 422, "limit"),
    # doc_id path tricks
    ("get ..", "GET", "/api/documents/%2E%2E", None, {}, 422, "doc_id"),
    ("get a..b", "GET", "/api/documents/a..b", None, {}, 422, ".."),
    ("get dotfile", "GET", "/api/documents/.env", None, {}, 422, "doc_id"),
    ("get traversal", "GET", "/api/documents/..%2F..%2Fetc%2Fpasswd", None, {}, 422, "doc_id"),
    ("get leading slash", "GET", "/api/documents//etc/passwd", None, {}, 422, "doc_id"),
    ("get NUL", "GET", "/api/documents/a%00b", None, {}, 422, "doc_id"),
    ("get bad percent", "GET", "/api/documents/%FF%FE", None, {}, 422, "doc_id"),
    ("get long id", "GET", "/api/documents/" + "a" * 201, None, {}, 422, "at most 200"),
    ("get very long id", "GET", "/api/documents/" + "a" * 10_000, None, {}, 422, "at most 200"),
    ("get SQL", "GET", "/api/documents/x%27%3B%20DROP%20TABLE%20documents%3B--", None, {}, 422, "doc_id"),
    ("get RTL override", "GET", "/api/documents/a%E2%80%AEb", None, {}, 422, "doc_id"),
    ("get unknown unicode id", "GET", "/api/documents/st%C3%A4dte", None, {}, 404, "städte"),
    # writes (with the token, so validation is what refuses them)
    ("post malformed JSON", "POST", "/api/documents", b'{"id": "x", ', AUTH, 422, "malformed JSON"),
    ("post invalid UTF-8", "POST", "/api/documents", b'{"id": "x", "title": "\xc3\x28", "text": "t"}', AUTH, 400,
     "UTF-8"),
    ("post missing id", "POST", "/api/documents", body({"title": "T", "text": "t"}), AUTH, 422, "id: field required"),
    ("post missing text", "POST", "/api/documents", body({"id": "x", "title": "T"}), AUTH, 422, "text: field"),
    ("post id with empty segment", "POST", "/api/documents", body({**GOOD, "id": "a//b"}), AUTH, 422, "id"),
    ("post id leading slash", "POST", "/api/documents", body({**GOOD, "id": "/a"}), AUTH, 422, "id"),
    ("post id dot segment", "POST", "/api/documents", body({**GOOD, "id": "a/./b"}), AUTH, 422, "id"),
    ("post unknown field", "POST", "/api/documents", body({**GOOD, "autor": "X"}), AUTH, 422, "did you mean 'author'"),
    ("post id ..", "POST", "/api/documents", body({**GOOD, "id": ".."}), AUTH, 422, "id"),
    ("post id a..b", "POST", "/api/documents", body({**GOOD, "id": "a..b"}), AUTH, 422, ".."),
    ("post id NUL", "POST", "/api/documents", body({**GOOD, "id": "a\x00"}), AUTH, 422, "id"),
    ("post id long", "POST", "/api/documents", body({**GOOD, "id": "a" * 201}), AUTH, 422, "id"),
    ("post id empty", "POST", "/api/documents", body({**GOOD, "id": ""}), AUTH, 422, "id"),
    ("post id number", "POST", "/api/documents", body({**GOOD, "id": 7}), AUTH, 422, "id"),
    ("post empty title", "POST", "/api/documents", body({**GOOD, "title": ""}), AUTH, 422, "title"),
    ("post blank title", "POST", "/api/documents", body({**GOOD, "title": " \n\t"}), AUTH, 422, "title"),
    ("post blank text", "POST", "/api/documents", body({**GOOD, "text": "   "}), AUTH, 422, "text"),
    ("post NUL text", "POST", "/api/documents", body({**GOOD, "text": "a\x00b"}), AUTH, 422, "NUL"),
    ("post surrogate title", "POST", "/api/documents", b'{"id": "x", "title": "\\udc80", "text": "t"}', AUTH, 422,
     "title"),
    ("post huge title", "POST", "/api/documents", body({**GOOD, "title": "T" * 1001}), AUTH, 422, "title"),
    ("post huge text", "POST", "/api/documents", body({**GOOD, "text": "Satz. " * 350_000}), AUTH, 422, "text"),
    ("post huge source", "POST", "/api/documents", body({**GOOD, "source": "s" * 301}), AUTH, 422, "source"),
    ("post list text", "POST", "/api/documents", body({**GOOD, "text": ["a"]}), AUTH, 422, "text"),
    ("post object title", "POST", "/api/documents", body({**GOOD, "title": {"a": 1}}), AUTH, 422, "title"),
    ("post js url", "POST", "/api/documents", body({**GOOD, "url": "javascript:alert(1)"}), AUTH, 422, "url"),
    ("post bad date", "POST", "/api/documents", body({**GOOD, "published": "gestern"}), AUTH, 422, "published"),
    ("post impossible date", "POST", "/api/documents", body({**GOOD, "published": "2024-13-45"}), AUTH, 422,
     "published"),
    ("post array", "POST", "/api/documents", body([GOOD]), AUTH, 422, ""),
    ("post oversized", "POST", "/api/documents", b"x" * (MAX_BODY + 1), AUTH, 413, "too large"),
    ("put ..", "PUT", "/api/documents/%2E%2E", body(GOOD), AUTH, 422, "doc_id"),
    ("put a..b", "PUT", "/api/documents/a..b", body(GOOD), AUTH, 422, ".."),
    ("put long id", "PUT", "/api/documents/" + "b" * 201, body(GOOD), AUTH, 422, "at most 200"),
    ("put NUL id", "PUT", "/api/documents/%00", body(GOOD), AUTH, 422, "doc_id"),
    # a missing title is taken from the lead; a missing text (or html) is the client's mistake
    ("put missing text", "PUT", "/api/documents/neu-2", body({"title": "t"}), AUTH, 422, "text: field required"),
    ("put malformed", "PUT", "/api/documents/neu-2", b"{{{", AUTH, 422, "malformed JSON"),
    ("delete ..", "DELETE", "/api/documents/%2E%2E", None, AUTH, 422, "doc_id"),
    ("delete NUL", "DELETE", "/api/documents/x%00", None, AUTH, 422, "doc_id"),
    ("delete long", "DELETE", "/api/documents/" + "c" * 5000, None, AUTH, 422, "at most 200"),
    ("delete unknown", "DELETE", "/api/documents/gibt-es-nicht", None, AUTH, 404, "gibt-es-nicht"),
    ("delete collection", "DELETE", "/api/documents", None, AUTH, 405, ""),
    ("latin-1 token", "POST", "/api/documents", body(GOOD), {"Authorization": "Bearer \xe4\xf6\xfc"}, 401, "token"),
]


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        before = c.get("/readyz").json()
        yield c
        after = c.get("/readyz").json()
        assert (after["documents"], after["generation"]) == (before["documents"], before["generation"])


@pytest.mark.parametrize(("name", "method", "path", "content", "headers", "expected", "fragment"), CASES,
                         ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_4xx(client, name, method, path, content, headers, expected, fragment):
    sent_headers = {**JSON, **headers} if content is not None else dict(headers)
    response = client.request(method, path, content=content,
                              headers={k: v.encode("latin-1") for k, v in sent_headers.items()})
    assert response.status_code == expected, response.text[:500]
    if expected != 405:
        assert response.headers["content-type"].startswith("application/json")
        detail = response.json()["detail"]
        assert isinstance(detail, str) and fragment in detail, detail


def test_chunked_oversized_body_is_refused_with_413(client):
    def chunks():
        for _ in range(6):
            yield b"x" * (1024 * 1024)

    response = client.post("/api/documents", content=chunks(), headers={**AUTH, **JSON})
    assert response.status_code == 413 and "too large" in response.json()["detail"]


@pytest.mark.parametrize("head", [
    b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}",
    b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 9\r\n\r\n{}",
    b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{}",
    b"GET /api/documents/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /api/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\x00\r\n\r\n",
    b"BREW /api/documents HTTP/1.1\r\nHost: x\r\n\r\n",
])
def test_broken_http_is_refused_with_a_4xx(server, head):
    """Requests no well-behaved client would send (raw bytes on a socket)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        status_line = sock.recv(65536).split(b"\r\n", 1)[0]
    assert re.match(rb"HTTP/1\.1 4\d\d ", status_line), status_line


def test_very_long_urls_and_headers_are_refused_without_a_5xx(client):
    for path in ("/api/documents/" + "a" * 100_000, "/api/documents?limit=" + "9" * 100_000):
        try:
            response = client.get(path)
        except Exception:
            continue
        assert 400 <= response.status_code < 500


def test_the_service_keeps_serving_after_the_table(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    answer = client.post("/api/ask", json={"question": "Wie viele nordkoreanische Soldaten sind in Russland?"})
    assert answer.status_code == 200 and answer.json()["passages"]
    assert client.get("/api/documents/neu-1").status_code == 404  # nothing was written
