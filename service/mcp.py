"""Fundstelle as MCP tools for AI assistants (the official `mcp` SDK): `ask`, `documents`, `document`,
`sources`, the same operations and shapes as the HTTP API (:mod:`service.operations`).

Two transports: stdio (`fundstelle mcp`, one process per assistant, started by the assistant) and
Streamable HTTP at ``/mcp`` on the running service (:class:`HttpEndpoint`, routed by the app factory),
stateless and answering in JSON, behind the same read-token rule as the other reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import HTTPException
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.types import ToolAnnotations
from pydantic import Field
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from engine import Engine
from retrieval.ordering import Sort
from service import operations
from service.deps import authorize_reader
from service.schemas import (
    QUESTION_MAX,
    TOP_K_MAX,
    AskFilters,
    AskRequest,
    AskResponse,
    Document,
    DocumentPage,
    DocumentQuery,
    Group,
    IsoDay,
    SourceList,
)
from service.settings import ServiceSettings


def _one_paragraph(text: str) -> str:
    return " ".join(text.split())


INSTRUCTIONS = _one_paragraph("""
Fundstelle answers questions from a newsroom's archive of news articles (mostly German) with the passages
that answer them, each with an exact citation: article title, outlet (source), author, date, paragraph,
character offsets, PDF page. Use `ask` for questions; cite the passages you use by title, outlet and date.
When `answer_found` is false, the archive does not answer the question: say so instead of using the nearest
passages as an answer. `sources` lists the outlets (for filters), `documents` lists the articles, and
`document` returns one article's full text.""")

ASK = _one_paragraph("""
Answer a question (German or English) from the archive: the passages that answer it best, each with its
text, the best sentence's offsets in `highlights`, a `confidence` in [0, 1] (0.5 and above counts as an
answer) and a `citation` (doc_id, title, source = outlet, author, published, url, paragraph, page,
char_start/char_end in the article). `answer_found` false: nothing in the archive answers the question; the
passages are then only the nearest ones. Narrow with `filters` (outlets, a period, doc_ids). For "who said
what, when" (how a figure or claim changed across reports) use group "article" with sort "date": the best
passage of each article, newest first.""")

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def build(engine: Callable[[], Engine]) -> MCPServer:
    """The MCP server over the engine that ``engine()`` returns at each call (it may raise ToolError,
    e.g. while the service is still loading the index)."""
    # log_level: the SDK configures the root logger when nothing else has; it must not make a host chattier
    server = MCPServer("fundstelle", title="Fundstelle news archive", instructions=INSTRUCTIONS, version="0.1.0",
                       log_level="WARNING")

    @server.tool(description=ASK, annotations=READ_ONLY)
    def ask(
        question: Annotated[str, Field(min_length=1, max_length=QUESTION_MAX, description="The question.")],
        top_k: Annotated[int, Field(ge=1, le=TOP_K_MAX, description="How many passages (group article: "
                                    "articles) to return.")] = 5,
        filters: Annotated[AskFilters | None, Field(description="Only passages of articles that match all "
                                                    "given conditions.")] = None,
        sort: Annotated[Sort, Field(description="relevance (best first) or date (newest first).")] = Sort.RELEVANCE,
        group: Annotated[Group, Field(description="passage (the best passages) or article (each article's best "
                                      "passage).")] = Group.PASSAGE,
        history: Annotated[list[str] | None, Field(description="Earlier questions of the conversation, most "
                                                   "recent last (for a follow-up such as 'Und im Jahr davor?').")
                           ] = None,
    ) -> AskResponse:
        request = AskRequest(question=question, top_k=top_k, filters=filters, sort=sort, group=group,
                             history=history or [])
        return operations.ask(engine(), request)

    @server.tool(description="The outlets (sources) in the archive with their article counts and first and last "
                             "publication days, most articles first: the names `ask`'s filters.sources accepts.",
                 annotations=READ_ONLY)
    def sources() -> SourceList:
        return SourceList(sources=engine().sources())

    @server.tool(description="The archive's articles (doc_id, title, source, author, published, url), newest "
                             "first, a page at a time (`total` counts all that match); narrow by outlet and "
                             "period.", annotations=READ_ONLY)
    def documents(
        offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
        source: Annotated[list[str] | None, Field(description="Outlets, case-insensitive.")] = None,
        since: Annotated[IsoDay | None, Field(description="Published on or after this day (YYYY-MM-DD).")] = None,
        until: Annotated[IsoDay | None, Field(description="Published on or before this day (YYYY-MM-DD).")] = None,
    ) -> DocumentPage:
        query = DocumentQuery(offset=offset, limit=limit, source=source, since=since, until=until)
        return operations.documents(engine(), query)

    @server.tool(description="One article by its doc_id (from a citation or `documents`): its full text "
                             "(citations' char_start/char_end point into it), metadata, where its passages lie, "
                             "and `prose`: the spans of the text that are the article proper (the rest is what "
                             "cleaning left out: datelines, bylines, teasers, comments).", annotations=READ_ONLY)
    def document(doc_id: Annotated[str, Field(min_length=1, max_length=200)]) -> Document:
        found = operations.document(engine(), doc_id)
        if found is None:
            raise ToolError(f"no document with doc_id {doc_id!r}")
        return found

    return server


class HttpEndpoint:
    """The Streamable HTTP endpoint of an MCP server, as an ASGI app (the app factory routes ``/mcp`` to it),
    behind the read-token rule. Stateless, with JSON answers: any replica of the service can answer any
    request. On a loopback host the SDK also checks Host and Origin headers (DNS rebinding).

    The app's lifespan must enter :meth:`running`: each time it does, a fresh session manager of the SDK
    (one runs only once, and an app may be started more than once, as tests and schemathesis do)."""

    def __init__(self, server: MCPServer, settings: ServiceSettings):
        self.server = server
        self.settings = settings
        self.manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self.server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                                        host=self.settings.host)
        manager = self.server.session_manager
        async with manager.run():
            self.manager = manager
            try:
                yield
            finally:
                self.manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            authorize_reader(self.settings, Headers(scope=scope).get("authorization"))
        except HTTPException as exc:
            await JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)(scope, receive, send)
            return
        if self.manager is None:
            await JSONResponse({"detail": "MCP is not running (the app was not started with its lifespan)"},
                               503)(scope, receive, send)
            return
        await self.manager.handle_request(scope, receive, send)


def loaded(get: Callable[[], Engine | None], load_error: Callable[[], str | None]) -> Callable[[], Engine]:
    """An engine getter for a service that loads its index in the background."""

    def engine() -> Engine:
        found = get()
        if found is None:
            raise ToolError(load_error() or "the index is still loading; try again in a few seconds")
        return found

    return engine
