"""The API's additions of issues 19 and 20, in-process through the app factory (real routes, middleware,
error handlers, index and model; no process, since none of this is about one):

- citations carry `author` and `page`; `GET /api/documents/{id}` carries `author`, `place`, `prose` and each
  passage's `page`; the list's items carry `author`; doc_ids with "/" work in the URL;
- `"group": "article"` (each article's best passage), alone and with `"sort": "date"`;
- `GET /api/documents` filters (`source`, `since`, `until`), still paged;
- strict requests: unknown fields anywhere get a 422 naming them (with a "did you mean"), the schema says
  `additionalProperties: false`, pattern errors are words, the write API takes `author`.
"""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from core.documents import Article
from engine import LocalEngine
from service.app import create_app
from service.settings import ServiceSettings
from tests.conftest import API_TOKEN

QUESTION = "Wie viele nordkoreanische Soldaten sind in Russland?"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
T_ONLINE = "003_b4d41754e5c68a6e"
CHAS_PRAVDY = "002_f98be471c2941e97"

# A three-page "PDF" (text with page starts, as the PDF reader stores it) by a known author.
PAGE_1 = "Haushalt der Stadt Gießen 2025\n\nDer Stadtrat hat am Montag über den Haushalt beraten.\n\n"
PAGE_2 = "Die Stadt Gießen plant für 2025 Ausgaben von 412 Millionen Euro, davon 38 Millionen für Schulen.\n\n"
PAGE_3 = "Die Opposition kritisierte die neuen Schulden von 21 Millionen Euro als zu hoch.\n"
PAGED = Article(doc_id="2025/haushalt-giessen", title="Haushalt der Stadt Gießen 2025", text=PAGE_1 + PAGE_2 + PAGE_3,
                source="Gießener Testanzeiger", published="2025-04-03", author="Katharina Mehlhorn", place="Gießen",
                pages=(0, len(PAGE_1), len(PAGE_1) + len(PAGE_2)))


@pytest.fixture(scope="module")
def engine(sample_index_dir, embedder, tmp_path_factory):
    """A private copy of the sample index with one paged article by a known author (in a sub-folder)."""
    folder = tmp_path_factory.mktemp("additions") / "index"
    shutil.copytree(sample_index_dir, folder, ignore=shutil.ignore_patterns("*.lock"))
    engine = LocalEngine(ServiceSettings(index_dir=folder), encoder=embedder)
    engine.write(PAGED)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def client(engine):
    settings = ServiceSettings(index_dir=engine.settings.index_dir, api_token=API_TOKEN)
    return TestClient(create_app(settings, engine=engine))  # no `with`: the shared engine stays open


def ask(client, **body) -> dict:
    response = client.post("/api/ask", json={"question": QUESTION, **body})
    assert response.status_code == 200, response.text
    return response.json()


# -- author, page, place, prose ---------------------------------------------------------------
def test_citations_carry_author_and_page(client):
    answer = ask(client, question="Wie viel gibt Gießen 2025 für Schulen aus?", top_k=3)
    top = answer["passages"][0]["citation"]
    assert top["doc_id"] == PAGED.doc_id and top["author"] == "Katharina Mehlhorn"
    assert top["page"] == 2, "the page of the highlighted sentence (38 Millionen für Schulen)"
    others = [p["citation"] for p in answer["passages"][1:]]
    assert all(c["page"] is None for c in others if c["doc_id"] != PAGED.doc_id), "articles without pages"
    assert {"author", "page"} <= set(ask(client)["passages"][0]["citation"])


def test_the_page_is_where_the_highlight_starts(client):
    passages = ask(client, question="Wie hoch sind die neuen Schulden von Gießen?", top_k=5)["passages"]
    hit = next(p for p in passages if p["citation"]["doc_id"] == PAGED.doc_id)
    document = client.get(f"/api/documents/{PAGED.doc_id}").json()
    start = hit["citation"]["char_start"] + hit["highlights"][0]["start"]
    assert hit["citation"]["page"] == 1 + sum(start >= p for p in PAGED.pages[1:])
    assert document["text"][start:].startswith(document["text"][start:start + 10])


def test_a_document_has_author_place_prose_and_passage_pages(client):
    document = client.get(f"/api/documents/{PAGED.doc_id}").json()
    assert (document["doc_id"], document["author"], document["place"]) == (PAGED.doc_id, "Katharina Mehlhorn",
                                                                             "Gießen")
    assert [p["page"] for p in document["passages"]] == sorted(p["page"] for p in document["passages"])
    assert {p["page"] for p in document["passages"]} <= {1, 2, 3} and document["passages"][-1]["page"] == 3
    assert document["prose"] and all(set(span) == {"start", "end"} for span in document["prose"])
    for passage in document["passages"]:  # every passage lies inside the prose
        assert any(s["start"] <= passage["char_start"] and passage["char_end"] <= s["end"] for s in document["prose"])


def test_text_that_cleaning_left_out_is_outside_the_prose(client):
    """The t-online article has a dateline, byline and comment/teaser lines that passages leave out."""
    document = client.get(f"/api/documents/{T_ONLINE}").json()
    assert document["author"] is None or isinstance(document["author"], str)
    assert all(p["page"] is None for p in document["passages"])
    text, prose = document["text"], document["prose"]
    covered = sum(s["end"] - s["start"] for s in prose)
    assert 0 < covered < len(text.strip()), "some text is not prose"
    gaps = zip(prose, prose[1:], strict=False)
    left_out = text[: prose[0]["start"]] + "".join(text[a["end"]:b["start"]] for a, b in gaps)
    assert "15.10.2024" in left_out, "the dateline is not prose"


def test_the_list_items_carry_author(client):
    page = client.get("/api/documents", params={"limit": 50}).json()
    assert page["total"] == 6
    assert all("author" in d for d in page["documents"])
    assert next(d for d in page["documents"] if d["doc_id"] == PAGED.doc_id)["author"] == "Katharina Mehlhorn"


@pytest.mark.parametrize("path", [f"/api/documents/{PAGED.doc_id}", "/api/documents/2025%2Fhaushalt-giessen"])
def test_a_doc_id_with_a_slash_is_one_path(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.json()["doc_id"] == PAGED.doc_id


# -- group: article ---------------------------------------------------------------------------
def test_group_article_keeps_each_articles_best_passage(client):
    plain = ask(client, top_k=10)
    grouped = ask(client, top_k=3, group="article")
    ids = [p["citation"]["doc_id"] for p in grouped["passages"]]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert grouped["group"] == "article" and plain["group"] == "passage"
    assert grouped["passages"][0]["passage_id"] == plain["passages"][0]["passage_id"], "the best passage stays first"
    assert grouped["answer_found"] == plain["answer_found"]
    # each article's passage is the best of that article in the ungrouped answer (prefix-stable ranking)
    best = {}
    for p in ask(client, top_k=50)["passages"]:
        best.setdefault(p["citation"]["doc_id"], p["passage_id"])
    assert [p["passage_id"] for p in grouped["passages"]] == [best[d] for d in ids]
    assert [p["rank"] for p in grouped["passages"]] == [1, 2, 3]


def test_group_article_asks_for_more_until_top_k_articles_or_the_candidates_end(client, engine):
    grouped = ask(client, top_k=50, group="article")
    ids = [p["citation"]["doc_id"] for p in grouped["passages"]]
    candidates = engine.ask(QUESTION, 100).hits  # the whole candidate pool, best first
    assert ids == list(dict.fromkeys(hit.passage.doc_id for hit in candidates)), "every article found, once"
    assert len(ids) >= 5


def test_group_article_by_date_is_a_timeline(client):
    timeline = ask(client, top_k=6, group="article", sort="date")
    assert timeline["sort"] == "date"
    ids = [p["citation"]["doc_id"] for p in timeline["passages"]]
    assert len(ids) == len(set(ids))
    days = [p["citation"]["published"] for p in timeline["passages"]]
    dated = [d for d in days if d]
    assert dated == sorted(dated, reverse=True) and days[: len(dated)] == dated, "newest first, undated last"
    assert set(ids) >= {T_ONLINE, CHAS_PRAVDY} and ids.index(CHAS_PRAVDY) < ids.index(T_ONLINE)
    relevance = ask(client, top_k=6, group="article")
    assert sorted(ids) == sorted(p["citation"]["doc_id"] for p in relevance["passages"])


def test_group_article_keeps_the_filters(client):
    answer = ask(client, top_k=5, group="article", filters={"sources": ["T-ONLINE", "chas pravdy"]})
    assert sorted(p["citation"]["doc_id"] for p in answer["passages"]) == sorted([T_ONLINE, CHAS_PRAVDY])


# -- GET /api/documents filters ---------------------------------------------------------------
def _listed(client, **params) -> dict:
    response = client.get("/api/documents", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_list_filters_by_outlet_case_insensitively(client):
    page = _listed(client, source="T-ONLINE")
    assert page["total"] == 1 and [d["doc_id"] for d in page["documents"]] == [T_ONLINE]
    both = _listed(client, source=["t-online", "Gießener testanzeiger"])
    assert both["total"] == 2 and [d["doc_id"] for d in both["documents"]] == [PAGED.doc_id, T_ONLINE]


def test_the_list_filters_by_period_and_stays_paged(client):
    page = _listed(client, since="2025-01-01")
    assert [d["doc_id"] for d in page["documents"]] == [CHAS_PRAVDY, PAGED.doc_id]  # newest first
    first = _listed(client, since="2024-01-01", until="2025-12-31", limit=1)
    second = _listed(client, since="2024-01-01", until="2025-12-31", limit=1, offset=1)
    assert first["total"] == second["total"] == 3 and (first["offset"], second["offset"]) == (0, 1)
    assert first["documents"][0]["doc_id"] != second["documents"][0]["doc_id"]
    assert _listed(client, until="2024-12-31")["total"] == 1
    assert _listed(client, source="t-online", since="2025-01-01") == {"total": 0, "offset": 0, "limit": 50,
                                                                     "documents": []}


@pytest.mark.parametrize(("query", "fragments"), [
    ("since=2025-13-01", ["since", "YYYY-MM-DD"]),
    ("since=2025-06-01&until=2025-01-01", ["since (2025-06-01) is after until (2025-01-01)"]),
    ("source=", ["source"]),
    ("sorce=t-online", ["query.sorce: unknown parameter; did you mean 'source'?"]),
    ("limit=0", ["limit"]),
])
def test_bad_list_parameters_get_a_clear_422(client, query, fragments):
    response = client.get(f"/api/documents?{query}")
    assert response.status_code == 422, response.text
    for fragment in fragments:
        assert fragment in response.json()["detail"]


# -- strict requests --------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "detail"), [
    ({"question": QUESTION, "filter": {"sources": ["t-online"]}}, "filter: unknown field; did you mean 'filters'?"),
    ({"question": QUESTION, "topk": 1}, "topk: unknown field; did you mean 'top_k'?"),
    ({"question": QUESTION, "filters": {"source": ["t-online"]}},
     "filters.source: unknown field; did you mean 'sources'?"),
    ({"question": QUESTION, "filters": {"published_form": "2025-01-01"}},
     "filters.published_form: unknown field; did you mean 'published_from'?"),
    ({"question": QUESTION, "grouping": "article"}, "grouping: unknown field; did you mean 'group'?"),
    ({"question": QUESTION, "xyz": 1}, "xyz: unknown field"),
    ({"question": QUESTION, "group": "articles"}, "group: Input should be 'passage' or 'article'"),
])
def test_unknown_and_misspelt_ask_fields_get_a_422_naming_them(client, body, detail):
    response = client.post("/api/ask", json=body)
    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]


def test_every_request_model_forbids_unknown_fields_in_the_schema(client):
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    bodies = {op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
              for path in schema["paths"].values() for op in path.values() if "requestBody" in op}
    assert bodies == {"AskRequest", "ArticleIn", "ArticleBody"}
    for name in bodies | {"AskFilters"}:
        assert components[name]["additionalProperties"] is False, name
    assert "author" in components["ArticleIn"]["properties"] and "group" in components["AskRequest"]["properties"]


def test_the_write_api_takes_author_and_refuses_unknown_fields(client):
    article = {"id": "stadtrat-1", "title": "Stadtrat tagt", "text": "Der Stadtrat tagt am Montag im Rathaus.",
               "source": "Gießener Testanzeiger", "author": "Jan Probst"}
    misspelt = client.post("/api/documents", json={**article, "autor": "Jan Probst"}, headers=AUTH)
    assert misspelt.status_code == 422 and "autor: unknown field; did you mean 'author'?" in misspelt.json()["detail"]
    put = client.put("/api/documents/x-1", json={"text": "Ein Satz.", "sourse": "X"}, headers=AUTH)
    assert put.status_code == 422 and "sourse: unknown field; did you mean 'source'?" in put.json()["detail"]
    assert client.post("/api/documents", json=article, headers=AUTH).status_code == 201
    try:
        stored = client.get("/api/documents/stadtrat-1").json()
        assert (stored["author"], stored["source"]) == ("Jan Probst", "Gießener Testanzeiger")
    finally:
        assert client.delete("/api/documents/stadtrat-1", headers=AUTH).status_code == 200


def test_put_takes_the_post_body_again_but_not_another_id(client):
    article = {"id": "2024/rathaus", "text": "Das Rathaus wird saniert.", "author": "Jan Probst"}
    assert client.put("/api/documents/2024/rathaus", json=article, headers=AUTH).status_code == 201
    try:
        other = client.put("/api/documents/2024/rathaus", json={**article, "id": "2024/schule"}, headers=AUTH)
        assert other.status_code == 422
        assert other.json()["detail"] == ("id: '2024/schule' is not the doc_id of the URL ('2024/rathaus'); "
                                          "leave it out or make them equal")
        assert client.put("/api/documents/2024/rathaus", json=article, headers=AUTH).json()["status"] == "unchanged"
    finally:
        client.delete("/api/documents/2024/rathaus", headers=AUTH)


def test_a_doc_id_with_a_slash_can_be_written_and_deleted(client):
    response = client.put("/api/documents/2024/stadtrat", json={"text": "Der Stadtrat tagt."}, headers=AUTH)
    assert response.status_code == 201 and response.json()["doc_id"] == "2024/stadtrat"
    assert client.get("/api/documents/2024/stadtrat").json()["text"] == "Der Stadtrat tagt."
    assert client.delete("/api/documents/2024/stadtrat", headers=AUTH).json()["status"] == "deleted"
    assert client.get("/api/documents/2024/stadtrat").status_code == 404


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("GET", "/api/documents/.env", None, "doc_id"),
    ("GET", "/api/documents/a%20b", None, "doc_id"),
    ("POST", "/api/documents", {"id": "a b", "text": "Satz."}, "id"),
    ("PUT", "/api/documents/2024//x", {"text": "Satz."}, "doc_id"),
])
def test_pattern_errors_are_words_not_a_regex(client, method, path, body, field):
    response = client.request(method, path, json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"{field}: letters, digits and _ . : @ + -"), detail
    assert "^" not in detail and "[" not in detail
