"""The API's operations over an engine, in the API's shapes: what the HTTP routes, the MCP tools and
`fundstelle ask` / `list` share, so that every client gets the same answer.

:func:`ask` applies a request's filters, order and grouping to :meth:`engine.Engine.ask`.

``group: article`` keeps each article's best passage. The engine's ranking is prefix-stable (the first
k passages never depend on how many are asked for) and lets at most two passages of an article ahead of
the other articles, so asking for twice ``top_k`` passages usually yields ``top_k`` articles; when it
does not (one article fills the top), the engine is asked again for more, up to the whole candidate pool.
The best passage overall stays first, so ``answer_found`` and each passage's ``confidence`` mean what
they mean without grouping.
"""

from __future__ import annotations

from dataclasses import replace

from engine import Engine
from retrieval.hits import Answer, Hit
from retrieval.ordering import Sort, order
from retrieval.retrievers import CANDIDATES
from retrieval.stages.variety import PER_ARTICLE
from service.schemas import AskRequest, AskResponse, Document, DocumentPage, DocumentQuery, Group

MOST_ASKED = 2 * CANDIDATES  # dense and lexical candidates together: asking for more finds nothing new


def ask(engine: Engine, request: AskRequest) -> AskResponse:
    """The answer to ``request`` in the API's shape."""
    filters = request.filters.to_filters() if request.filters else None
    if request.group == Group.ARTICLE:
        answer = order(best_per_article(engine, request.question, request.top_k, filters, request.history),
                       request.sort)
    else:
        answer = engine.ask(request.question, request.top_k, filters=filters, sort=request.sort,
                            history=request.history)
    return AskResponse.from_answer(answer, sort=request.sort, group=request.group)


def best_per_article(engine: Engine, question: str, top_k: int, filters=None,
                     history: list[str] | None = None) -> Answer:
    """At most ``top_k`` articles, each with its best passage, best first."""
    asked, took_ms = min(top_k * PER_ARTICLE, MOST_ASKED), 0.0
    while True:
        answer = engine.ask(question, asked, filters=filters, sort=Sort.RELEVANCE, history=history)
        took_ms += answer.took_ms
        best = first_per_article(answer.hits)
        if len(best) >= top_k or len(answer.hits) < asked or asked >= MOST_ASKED:
            return replace(answer, hits=best[:top_k], took_ms=round(took_ms, 1))
        asked = min(asked * 2, MOST_ASKED)


def first_per_article(hits: list[Hit]) -> list[Hit]:
    """The first hit of each article, in the given order."""
    seen: set[str] = set()
    kept = []
    for hit in hits:
        if hit.passage.doc_id not in seen:
            seen.add(hit.passage.doc_id)
            kept.append(hit)
    return kept


def documents(engine: Engine, query: DocumentQuery) -> DocumentPage:
    """One page of the articles that match ``query``, newest first."""
    filters = query.to_filters()
    # without filters the engine is called as before they existed (an engine may not take them yet)
    total, rows = (engine.documents(query.offset, query.limit, filters) if filters
                   else engine.documents(query.offset, query.limit))
    return DocumentPage(total=total, offset=query.offset, limit=query.limit, documents=rows)


def document(engine: Engine, doc_id: str) -> Document | None:
    stored = engine.document(doc_id)
    return None if stored is None else Document.from_stored(stored)
