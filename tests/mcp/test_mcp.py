"""The MCP tools, through the official SDK's own client over both transports:

- Streamable HTTP at /mcp of a real uvicorn server on 127.0.0.1 (the app factory's app, in a thread), with a
  read token configured: refused without it, answered with it;
- stdio: `fundstelle mcp --index-dir ...` spawned as an assistant spawns it.
"""

from __future__ import annotations

import shutil
import sys

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from engine import LocalEngine
from tests.conftest import serve_here, served_settings, stop_server
from tests.paths import REPO_ROOT

QUESTION = "Wie viele nordkoreanische Soldaten sind in Russland?"
READ_TOKEN = "read-token-0123456789"
T_ONLINE = "003_b4d41754e5c68a6e"


@pytest.fixture(scope="module")
def url(sample_index_dir, embedder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mcp-http") / "index"
    shutil.copytree(sample_index_dir, folder, ignore=shutil.ignore_patterns("*.lock"))
    settings = served_settings(folder, read_token=READ_TOKEN)
    engine = LocalEngine(settings, encoder=embedder)
    server = serve_here(settings, engine)
    yield f"{server.url}/mcp"
    stop_server(server)
    engine.close()


def http_client(url: str, token: str | None = READ_TOKEN) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers, timeout=120)))


def run(session, steps):
    """Run ``steps(client)`` (a coroutine function) inside one client session; its result."""

    async def main():
        async with session as client:
            return await steps(client)

    return anyio.run(main)


def structured(result) -> dict:
    assert not result.is_error, result.content
    return result.structured_content


# -- Streamable HTTP ---------------------------------------------------------------------------
def test_the_tools_are_listed_with_descriptions_and_schemas(url):
    async def steps(client):
        return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in run(http_client(url), steps)}
    assert set(tools) == {"ask", "sources", "documents", "document"}
    assert all(len(tool.description) > 80 for tool in tools.values())
    assert "answer_found" in tools["ask"].description and "who said what" in tools["ask"].description
    assert {"question", "top_k", "filters", "sort", "group", "history"} <= set(tools["ask"].input_schema["properties"])
    assert tools["ask"].input_schema["required"] == ["question"]
    assert all(tool.annotations.read_only_hint for tool in tools.values())


def test_ask_answers_with_cited_passages(url):
    async def steps(client):
        return await client.call_tool("ask", {"question": QUESTION, "top_k": 3})

    answer = structured(run(http_client(url), steps))
    assert answer["answer_found"] is True and len(answer["passages"]) == 3
    assert any("mehr als 10.000" in p["text"] for p in answer["passages"])
    citation = answer["passages"][0]["citation"]
    assert {"doc_id", "title", "source", "author", "published", "page", "paragraph", "char_start"} <= set(citation)
    assert 0 <= answer["passages"][0]["confidence"] <= 1


def test_ask_takes_filters_sort_and_group_like_the_http_api(url):
    async def steps(client):
        timeline = await client.call_tool("ask", {"question": QUESTION, "top_k": 5, "group": "article",
                                                  "sort": "date"})
        filtered = await client.call_tool("ask", {"question": QUESTION, "filters": {"sources": ["T-ONLINE"]}})
        return structured(timeline), structured(filtered)

    timeline, filtered = run(http_client(url), steps)
    ids = [p["citation"]["doc_id"] for p in timeline["passages"]]
    assert len(ids) == len(set(ids)) == 5 and timeline["group"] == "article"
    dated = [p["citation"]["published"] for p in timeline["passages"] if p["citation"]["published"]]
    assert dated == sorted(dated, reverse=True)
    assert {p["citation"]["doc_id"] for p in filtered["passages"]} == {T_ONLINE}
    with httpx.Client(timeout=120) as plain:  # the same answer as POST /api/ask
        api = plain.post(url.removesuffix("/mcp") + "/api/ask", headers={"Authorization": f"Bearer {READ_TOKEN}"},
                         json={"question": QUESTION, "top_k": 5, "group": "article", "sort": "date"}).json()
    assert [p["passage_id"] for p in api["passages"]] == [p["passage_id"] for p in timeline["passages"]]


def test_a_question_off_the_archive_says_no_answer(url):
    async def steps(client):
        return await client.call_tool("ask", {"question": "Wie wird das Wetter morgen in Hamburg?"})

    assert structured(run(http_client(url), steps))["answer_found"] is False


def test_sources_documents_and_document(url):
    async def steps(client):
        return (await client.call_tool("sources", {}), await client.call_tool("documents", {"limit": 2}),
                await client.call_tool("documents", {"source": ["t-online"], "since": "2024-01-01"}),
                await client.call_tool("document", {"doc_id": T_ONLINE}),
                await client.call_tool("document", {"doc_id": "gibt-es-nicht"}))

    sources, page, filtered, document, missing = run(http_client(url), steps)
    assert [s["source"] for s in structured(sources)["sources"]] == ["Chas Pravdy", "t-online"]
    assert structured(page)["total"] == 5 and len(structured(page)["documents"]) == 2
    assert [d["doc_id"] for d in structured(filtered)["documents"]] == [T_ONLINE]
    article = structured(document)
    assert article["doc_id"] == T_ONLINE and article["source"] == "t-online" and article["prose"]
    assert missing.is_error and "no document with doc_id 'gibt-es-nicht'" in missing.content[0].text


def test_bad_arguments_are_tool_errors_naming_the_argument(url):
    async def steps(client):
        return (await client.call_tool("ask", {"question": QUESTION, "top_k": 500}),
                await client.call_tool("ask", {"question": QUESTION, "filters": {"source": ["x"]}}))

    too_many, misspelt = run(http_client(url), steps)
    assert too_many.is_error and "top_k" in too_many.content[0].text
    assert misspelt.is_error and "source" in misspelt.content[0].text


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_the_endpoint_needs_the_read_token_when_one_is_set(url, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(url, headers={**headers, "Accept": "application/json, text/event-stream"},
                          json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=30)
    assert response.status_code == 401 and "token" in response.json()["detail"]

    async def steps(client):
        return await client.list_tools()

    with pytest.raises(Exception):  # noqa: B017  (the SDK reports the refused connection its own way)
        run(http_client(url, token), steps)


# -- stdio ------------------------------------------------------------------------------------
def test_stdio_server_spawned_as_an_assistant_spawns_it(sample_index_dir):
    params = StdioServerParameters(command=sys.executable, args=["-m", "cli", "mcp", "--index-dir",
                                                                 str(sample_index_dir)], cwd=str(REPO_ROOT))

    async def steps(client):
        tools = (await client.list_tools()).tools
        return tools, await client.call_tool("sources", {}), await client.call_tool("ask", {"question": QUESTION})

    tools, sources, answer = run(Client(params, read_timeout_seconds=300), steps)
    assert {tool.name for tool in tools} == {"ask", "sources", "documents", "document"}
    assert structured(sources)["sources"][0]["source"] == "Chas Pravdy"
    answer = structured(answer)
    assert answer["answer_found"] and any("mehr als 10.000" in p["text"] for p in answer["passages"][:3])
    assert answer["question"] == QUESTION


def test_a_get_is_answered_405_at_once_not_held_open(url):
    """A stateless server has no stream for a GET: it says so (405), rather than keep the connection open."""
    response = httpx.get(url, headers={"Authorization": f"Bearer {READ_TOKEN}", "Accept": "text/event-stream"},
                         timeout=10)
    assert response.status_code == 405
