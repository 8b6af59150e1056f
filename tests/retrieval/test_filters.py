"""Filters inside both retrievers, on a real index of several outlets and dates (real model, SQLite, FAISS).

The corpus: the bundled articles (two of them with outlet and date, three without), a few
articles of other outlets and dates, and a needle: one Hansepost article that answers a ferry
question in its own words, buried under 70 near-copies of the question from Tagesblick, so that
neither retriever has it in its unfiltered top 50. Filtered by outlet or date, it must come first.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

import store.filters as filters_module
from core.filters import Filters
from core.settings import Settings
from engine import LocalEngine
from indexer.ingest.readers import read_articles
from indexer.pipeline import ArticleIndexer
from retrieval.ordering import Sort
from retrieval.query import analyse
from retrieval.retrievers import CANDIDATES
from store.filters import allowed_passages
from store.index import Index
from tests.paths import BUNDLED_CORPUS

SOLDIERS = "Wie viele nordkoreanische Soldaten sind in Russland?"
FERRY = "Wie viele Passagiere hat die Fährlinie zwischen Rostock und Gedser im Mai befördert?"
NEEDLE_ID = "hansepost-faehre"
NEEDLE = {
    "id": NEEDLE_ID, "title": "Reederei zieht Bilanz", "source": "Hansepost", "published": "2025-06-12",
    "url": "https://www.hansepost.example/wirtschaft/reederei-bilanz",
    "text": ("Die Reederei hat ihre Zahlen für das Frühjahr vorgelegt. Auf der Verbindung von der Warnow "
             "nach Falster zählte sie im Mai 182.000 Passagiere, sieben Prozent mehr als im "
             "Vorjahr. Auch der Güterverkehr legte zu."),
}
DISTRACTORS = 70
OTHERS = [
    {"id": "nk-2023", "title": "Munition aus Pjöngjang", "source": "Nordkurier", "published": "2023-11-02",
     "text": "Nordkorea soll Russland Artilleriegranaten geliefert haben. Soldaten aus Nordkorea waren "
             "damals noch nicht in Russland stationiert, hieß es aus Seoul."},
    {"id": "nk-2025", "title": "Truppen an der Front", "source": "nordkurier", "published": "2025-01-20T08:30:00",
     "text": "Südkoreas Geheimdienst schätzt, dass rund 11.000 nordkoreanische Soldaten in Russland sind. "
             "Ein Teil von ihnen kämpft in der Region Kursk."},
    {"id": "nk-undated", "title": "Kim und Putin", "source": "Nordkurier",
     "text": "Die Zahl nordkoreanischer Soldaten in Russland ist unklar; Schätzungen reichen bis 12.000."},
    {"id": "glacier", "title": "Gletscher schmelzen", "source": "Alpenecho", "published": "2025-03-14",
     "text": "Die bayerischen Gletscher haben im vergangenen Jahr elf Prozent ihrer Fläche verloren."},
]


def _distractor(n: int) -> dict:
    return {"id": f"tagesblick-{n:03d}", "title": f"Fährlinie Rostock–Gedser ({n})", "source": "Tagesblick",
            "published": f"2025-05-{1 + n % 28:02d}",
            "text": f"Die Fährlinie zwischen Rostock und Gedser hat im Mai viele Passagiere befördert, meldet "
                    f"die Reederei (Meldung {n}). Wie viele Passagiere die Fährlinie im Mai genau beförderte, "
                    f"teilte sie nicht mit."}


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder) -> LocalEngine:
    folder = tmp_path_factory.mktemp("filters")
    articles = folder / "articles.jsonl"
    lines = [NEEDLE, *OTHERS, *(_distractor(n) for n in range(DISTRACTORS))]
    articles.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in lines), encoding="utf-8")
    settings = Settings(index_dir=folder / "index")
    index = Index.open(settings.index_dir, embedder, create=True)
    report = ArticleIndexer(index, settings).run(read_articles([BUNDLED_CORPUS, articles]))
    assert not report.errors and len(report.added) == 5 + len(lines)
    index.store.close()
    return LocalEngine(settings, encoder=embedder)


def _docs(answer) -> list[str]:
    return [hit.passage.doc_id for hit in answer.hits]


def _needle_passages(engine: LocalEngine) -> set[int]:
    return {p["passage_id"] for p in engine.document(NEEDLE_ID)["passages"]}


# -- the needle outside the unfiltered top 50 ------------------------------------------------
def test_the_needle_is_outside_both_unfiltered_candidate_lists(engine):
    found = engine.searcher.retriever.retrieve(analyse(FERRY, engine.encoder))
    assert len(found.dense) == len(found.lexical) == CANDIDATES
    candidates = {pid for pid, _ in found.dense} | {pid for pid, _ in found.lexical}
    assert not candidates & _needle_passages(engine), "the test corpus no longer buries the needle"
    assert NEEDLE_ID not in _docs(engine.ask(FERRY, top_k=50))


@pytest.mark.parametrize("filters", [
    Filters(sources=("hansepost",)),
    Filters(sources=("HANSEPOST", "Alpenecho")),
    Filters(published_from=date(2025, 6, 1)),
    Filters(published_from=date(2025, 6, 12), published_to=date(2025, 6, 12)),
    Filters(doc_ids=(NEEDLE_ID, "glacier")),
])
def test_a_filter_finds_its_best_passage_even_outside_the_global_top_50(engine, filters):
    answer = engine.ask(FERRY, top_k=3, filters=filters)
    assert answer.hits and answer.hits[0].passage.doc_id == NEEDLE_ID, _docs(answer)
    assert "182.000" in answer.hits[0].passage.text


def test_both_retrievers_search_inside_the_filter(engine):
    query = analyse(FERRY, engine.encoder)
    filtered = engine.searcher.retriever.retrieve(replace(query, filters=Filters(sources=("Hansepost",))))
    needle = _needle_passages(engine)
    assert {pid for pid, _ in filtered.dense} == needle  # the outlet has this one article
    assert {pid for pid, _ in filtered.lexical} == needle  # it shares "Passagiere" and "Mai" with the question
    assert all(p.source == "Hansepost" for p in filtered.passages.values())


# -- only matching articles ----------------------------------------------------------------
@pytest.mark.parametrize("filters", [
    Filters(sources=("T-Online",)),
    Filters(sources=("nordkurier",)),
    Filters(sources=("Nordkurier", "Chas Pravdy")),
    Filters(published_from=date(2025, 1, 1)),
    Filters(published_to=date(2024, 12, 31)),
    Filters(published_from=date(2024, 10, 15), published_to=date(2025, 1, 20)),
    Filters(doc_ids=("003_b4d41754e5c68a6e", "nk-undated")),
    Filters(sources=("nordkurier",), published_from=date(2025, 1, 1)),
])
def test_filtered_answers_hold_only_matching_articles(engine, filters):
    answer = engine.ask(SOLDIERS, top_k=10, filters=filters)
    assert answer.hits, "every filter here matches some article about the soldiers"
    for hit in answer.hits:
        p = hit.passage
        assert filters.matches(p.doc_id, p.source, p.published), (p.doc_id, p.source, p.published)


def test_sources_match_case_insensitively_and_dates_by_their_day(engine):
    lower = engine.ask(SOLDIERS, top_k=10, filters=Filters(sources=("nordkurier",)))
    upper = engine.ask(SOLDIERS, top_k=10, filters=Filters(sources=("NORDKURIER",)))
    assert set(_docs(lower)) == set(_docs(upper)) == {"nk-2023", "nk-2025", "nk-undated"}
    # "2025-01-20T08:30:00" is on the day 2025-01-20; an undated article never matches a date bound
    day = engine.ask(SOLDIERS, top_k=10, filters=Filters(published_from=date(2025, 1, 20),
                                                         published_to=date(2025, 1, 20)))
    assert set(_docs(day)) == {"nk-2025"}
    dated = engine.ask(SOLDIERS, top_k=50, filters=Filters(sources=("Nordkurier",), published_to=date(2030, 1, 1)))
    assert "nk-undated" not in _docs(dated)


def test_a_filter_nothing_matches_gives_an_empty_answer(engine):
    assert engine.ask(SOLDIERS, filters=Filters(sources=("Gibt es nicht",))).hits == []
    assert engine.ask(SOLDIERS, filters=Filters(published_from=date(2031, 1, 1))).hits == []


def test_an_empty_filter_is_no_filter(engine):
    assert _docs(engine.ask(SOLDIERS, top_k=5, filters=Filters())) == _docs(engine.ask(SOLDIERS, top_k=5))


def test_allowed_passages_agree_with_the_python_rule(engine):
    store = engine.index.store
    filters = Filters(sources=("nordkurier", "Hansepost"), published_from=date(2024, 1, 1))
    with store.snapshot() as conn:
        allowed = set(allowed_passages(conn, filters).tolist())
        every = store.passages([r[0] for r in conn.execute("SELECT id FROM passages")])
    assert allowed == {pid for pid, p in every.items() if filters.matches(p.doc_id, p.source, p.published)}
    assert allowed


# -- both dense paths ------------------------------------------------------------------------
@pytest.mark.parametrize("filters", [Filters(sources=("Tagesblick",)), Filters(published_from=date(2025, 5, 10)),
                                     Filters(sources=("Hansepost", "Tagesblick"))])
def test_the_oversampled_path_finds_what_the_exact_path_finds(engine, filters, monkeypatch):
    """On a flat index the oversampled search keeps asking for more until it has enough allowed
    hits, so both paths return the same candidates; the switch point changes speed, not answers."""
    query = analyse(FERRY, engine.encoder)
    query = replace(query, filters=filters)
    exact = engine.searcher.retriever.retrieve(query).dense
    monkeypatch.setattr(filters_module, "EXACT_MAX", 0)
    oversampled = engine.searcher.retriever.retrieve(query).dense
    assert [pid for pid, _ in oversampled] == [pid for pid, _ in exact]
    assert [s for _, s in oversampled] == pytest.approx([s for _, s in exact], abs=1e-5)


# -- order -------------------------------------------------------------------------------------
def test_sort_by_date_is_the_same_passages_newest_first(engine):
    wide = Filters(sources=("Nordkurier", "t-online", "Chas Pravdy"))
    relevant = engine.ask(SOLDIERS, top_k=6, filters=wide)
    newest = engine.ask(SOLDIERS, top_k=6, filters=wide, sort=Sort.DATE)
    assert sorted(h.passage.id for h in newest.hits) == sorted(h.passage.id for h in relevant.hits)
    days = [(h.passage.published or "")[:10] for h in newest.hits]
    dated = [d for d in days if d]
    assert dated == sorted(dated, reverse=True)
    assert days[: len(dated)] == dated, "undated passages go last"
    plain = engine.ask(SOLDIERS, top_k=5, sort=Sort.DATE)  # without filters too
    assert sorted(h.passage.id for h in plain.hits) == sorted(h.passage.id for h in engine.ask(SOLDIERS).hits)


def test_filters_reject_a_reversed_period():
    with pytest.raises(ValueError, match="after"):
        Filters(published_from=date(2025, 2, 1), published_to=date(2025, 1, 1))
