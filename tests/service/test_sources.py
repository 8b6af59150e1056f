"""GET /api/sources and the filters / sort of POST /api/ask, over HTTP against a real server.

The served index is the bundled corpus: two articles with an outlet and a date ("t-online",
2024-10-15; "Chas Pravdy", 2025-05-29) and three with neither.
"""

from __future__ import annotations

import json

import pytest

from core.documents import Article
from core.settings import Settings
from engine import LocalEngine

QUESTION = "Wie viele nordkoreanische Soldaten sind in Russland?"
T_ONLINE = "003_b4d41754e5c68a6e"
CHAS_PRAVDY = "002_f98be471c2941e97"


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


def _ask(client, **body):
    response = client.post("/api/ask", json={"question": QUESTION, **body})
    assert response.status_code == 200, response.text
    return response.json()


# -- /api/sources -----------------------------------------------------------------------------
def test_sources_lists_outlets_with_counts_and_date_ranges(client):
    response = client.get("/api/sources")
    assert response.status_code == 200
    assert response.json() == {"sources": [
        {"source": "Chas Pravdy", "documents": 1, "first_published": "2025-05-29", "last_published": "2025-05-29"},
        {"source": "t-online", "documents": 1, "first_published": "2024-10-15", "last_published": "2024-10-15"},
    ]}


def test_sources_is_in_the_api_docs(client):
    schema = client.get("/openapi.json").json()
    assert "get" in schema["paths"]["/api/sources"]
    ask = schema["components"]["schemas"]["AskRequest"]["properties"]
    assert {"filters", "sort"} <= set(ask)


def test_sources_merge_spellings_and_leave_out_articles_without_one(index_copy, embedder):
    engine = LocalEngine(Settings(index_dir=index_copy), encoder=embedder)
    try:
        for doc_id, source, published in [("a", "T-Online", "2023-01-05T10:00:00"), ("b", "t-online", None),
                                           ("c", "Nordkurier", "2025-07-01"), ("d", None, "2025-08-01")]:
            engine.write(Article(doc_id=doc_id, title=f"Artikel {doc_id}", text="Ein kurzer Text über nichts.",
                                 source=source, published=published))
        assert engine.sources() == [
            {"source": "t-online", "documents": 3, "first_published": "2023-01-05", "last_published": "2024-10-15"},
            {"source": "Chas Pravdy", "documents": 1, "first_published": "2025-05-29",
             "last_published": "2025-05-29"},
            {"source": "Nordkurier", "documents": 1, "first_published": "2025-07-01",
             "last_published": "2025-07-01"},
        ]
    finally:
        engine.close()


# -- filters over HTTP ------------------------------------------------------------------------
def test_a_source_filter_is_case_insensitive(client):
    answer = _ask(client, filters={"sources": ["T-ONLINE"]}, top_k=10)
    assert answer["passages"]
    assert {p["citation"]["doc_id"] for p in answer["passages"]} == {T_ONLINE}


def test_a_period_leaves_out_other_and_undated_articles(client):
    answer = _ask(client, filters={"published_from": "2025-01-01"}, top_k=10)
    assert {p["citation"]["doc_id"] for p in answer["passages"]} == {CHAS_PRAVDY}
    both = _ask(client, filters={"published_from": "2024-10-15", "published_to": "2025-05-29"}, top_k=20)
    assert {p["citation"]["doc_id"] for p in both["passages"]} == {T_ONLINE, CHAS_PRAVDY}


def test_all_given_conditions_must_hold(client):
    answer = _ask(client, filters={"sources": ["t-online"], "published_from": "2025-01-01"})
    assert answer["passages"] == []
    answer = _ask(client, filters={"doc_ids": [T_ONLINE, CHAS_PRAVDY], "sources": ["chas pravdy"]}, top_k=10)
    assert {p["citation"]["doc_id"] for p in answer["passages"]} == {CHAS_PRAVDY}


def test_sort_by_date_returns_the_same_passages_newest_first(client):
    relevant = _ask(client, top_k=8)
    newest = _ask(client, top_k=8, sort="date")
    assert sorted(p["passage_id"] for p in newest["passages"]) == sorted(p["passage_id"] for p in relevant["passages"])
    assert [p["rank"] for p in newest["passages"]] == list(range(1, len(newest["passages"]) + 1))
    days = [p["citation"]["published"] for p in newest["passages"]]
    dated = [d for d in days if d]
    assert dated == sorted(dated, reverse=True) and days[: len(dated)] == dated
    assert _ask(client, top_k=8, sort="relevance")["passages"] == relevant["passages"]


def test_null_filters_and_empty_filters_change_nothing(client):
    plain = [p["passage_id"] for p in _ask(client)["passages"]]
    assert [p["passage_id"] for p in _ask(client, filters=None)["passages"]] == plain
    assert [p["passage_id"] for p in _ask(client, filters={})["passages"]] == plain


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        ({"filters": {"source": ["t-online"]}}, ["filters.source: unknown field; did you mean 'sources'?"]),
        ({"filters": {"published_from": "2024-13-01"}}, ["filters.published_from", "YYYY-MM-DD", "2024-13-01"]),
        ({"filters": {"published_to": "15.10.2024"}}, ["filters.published_to", "YYYY-MM-DD"]),
        ({"filters": {"published_from": "2024-10-15T10:00:00"}}, ["filters.published_from", "YYYY-MM-DD"]),
        ({"filters": {"published_from": 20241015}}, ["filters.published_from"]),
        ({"filters": {"published_from": "2025-02-01", "published_to": "2025-01-01"}}, ["filters", "after"]),
        ({"filters": {"sources": "t-online"}}, ["filters.sources", "list"]),
        ({"filters": {"sources": [""]}}, ["filters.sources.0"]),
        ({"filters": {"sources": ["x"] * 101}}, ["filters.sources", "100"]),
        ({"filters": {"doc_ids": [7]}}, ["filters.doc_ids.0"]),
        ({"filters": "t-online"}, ["filters"]),
        ({"sort": "newest"}, ["sort", "relevance", "date"]),
        ({"sort": None}, ["sort"]),
    ],
)
def test_bad_filters_and_sorts_get_a_clear_422(client, extra, fragments):
    response = client.post("/api/ask", json={"question": QUESTION, **extra})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    for fragment in fragments:
        assert fragment in detail, detail


# -- the same through `fundstelle ask` -------------------------------------------------------
CLI_ARTICLES = [
    {"id": "hp-1", "title": "Hafen meldet Rekord", "source": "Hansepost", "published": "2025-06-03",
     "text": "Der Hamburger Hafen hat im Mai so viele Container umgeschlagen wie nie zuvor."},
    {"id": "hp-2", "title": "Hafen im Winter", "source": "hansepost", "published": "2025-01-15",
     "text": "Im Januar ging der Containerumschlag im Hamburger Hafen wegen Sturms deutlich zurück."},
    {"id": "tb-1", "title": "Hafen in Rostock", "source": "Tagesblick", "published": "2025-06-10",
     "text": "Auch der Rostocker Hafen meldet für Mai mehr Container als im Vorjahr."},
    {"id": "undated", "title": "Hafengeschichte", "source": "Hansepost",
     "text": "Der Hamburger Hafen wurde der Überlieferung nach im Jahr 1189 gegründet."},
]


def test_cli_ask_filters_and_sorts(tmp_path):
    """`fundstelle index` then `fundstelle ask` with --source/--since/--until/--sort, as a user would."""
    from tests.conftest import cli_here as cli  # the commands' own code, in this process with its model

    articles = tmp_path / "hafen.jsonl"
    articles.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in CLI_ARTICLES), encoding="utf-8")
    index_dir = tmp_path / "index"
    cli("index", str(articles), "--index-dir", str(index_dir), "--quiet")
    question = "Wie viele Container hat der Hamburger Hafen umgeschlagen?"

    result = cli("ask", question, "--index-dir", str(index_dir), "--source", "HANSEPOST", "--since", "2025-01-01",
                 "--until", "2025-12-31", "--sort", "date", "--top-k", "5", "--json")
    answer = json.loads(result.stdout)
    assert [p["citation"]["doc_id"] for p in answer["passages"]] == ["hp-1", "hp-2"]  # newest first
    both = json.loads(cli("ask", question, "--index-dir", str(index_dir), "--source", "Tagesblick",
                          "--source", "hansepost", "--json").stdout)
    assert {p["citation"]["doc_id"] for p in both["passages"]} == {"hp-1", "hp-2", "tb-1", "undated"}

    bad = cli("ask", question, "--index-dir", str(index_dir), "--since", "2024-02-30", check=False)
    assert bad.returncode == 2 and "--since: must be a date as YYYY-MM-DD, got '2024-02-30'" in bad.stderr
    bad = cli("ask", question, "--index-dir", str(index_dir), "--sort", "newest", check=False)
    assert bad.returncode == 2 and "--sort" in bad.stderr
