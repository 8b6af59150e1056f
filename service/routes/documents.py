"""Article routes: list and read (open unless a read token is set), add, replace and delete
(bearer token required). A write returns once it is committed and visible to questions."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.routing import APIRoute

from indexer.ingest.schema import DOC_ID_RULES, DocId
from service import operations
from service.deps import EngineDep, WriterCredentials, authorize_writer, require_reader
from service.routes.common import ERROR_BODY, READ_ERRORS, WRITE_ERRORS
from service.schemas import ArticleBody, ArticleIn, Document, DocumentPage, DocumentQuery, WriteResult

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class WriteGuardRoute(APIRoute):
    """Write routes check the bearer token before the body is read or validated, so a caller
    without the token gets 401/403 whatever they send and learns nothing about the body."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        if not self.methods & WRITE_METHODS:
            return handler

        async def guarded(request: Request):
            authorize_writer(request.app.state.settings, request.headers.get("authorization"))
            return await handler(request)

        return guarded


router = APIRouter(prefix="/api/documents", tags=["documents"], route_class=WriteGuardRoute)
# A doc_id may hold "/" (a file's path below the indexed folder: 2024/haushalt), so the route takes the
# rest of the path; the doc_id rules themselves keep it from being anything but an id.
DocIdPath = Annotated[DocId, Path(description=f"The article's doc_id: {DOC_ID_RULES}.")]

def _not_found(doc_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no document with doc_id {doc_id!r}")


@router.get("", response_model=DocumentPage, dependencies=[Depends(require_reader)], responses=READ_ERRORS)
def list_documents(engine: EngineDep, query: Annotated[DocumentQuery, Query()]) -> DocumentPage:
    """Article metadata, newest first, a page at a time; `source` (repeatable, case-insensitive),
    `since` and `until` (days, inclusive) narrow the list as the filters of `/api/ask` narrow a question."""
    return operations.documents(engine, query)


@router.get("/{doc_id:path}", response_model=Document, dependencies=[Depends(require_reader)],
            responses={404: {"description": "Unknown doc_id", **ERROR_BODY}, **READ_ERRORS})
def get_document(doc_id: DocIdPath, engine: EngineDep) -> Document:
    """The stored article text (verbatim) with its metadata, where its passages lie (and on which page of
    a PDF), and `prose`: the spans of the text that are the article's prose (the rest is what cleaning
    left out: datelines, bylines, teasers, reader comments)."""
    document = operations.document(engine, doc_id)
    if document is None:
        raise _not_found(doc_id)
    return document


def _write(engine: EngineDep, article, response: Response, create_only: bool) -> WriteResult:
    state, passages = engine.write(article, create_only=create_only)
    if state == "added":
        response.status_code = status.HTTP_201_CREATED
    return WriteResult(doc_id=article.doc_id, status=state, passages=passages)


@router.post("", response_model=WriteResult, status_code=status.HTTP_200_OK, dependencies=[WriterCredentials],
             responses={201: {"model": WriteResult, "description": "Added"},
                        409: {"description": "doc_id exists with other content", **ERROR_BODY}, **WRITE_ERRORS})
def add_document(body: ArticleIn, engine: EngineDep, response: Response) -> WriteResult:
    """Add one article (the JSONL shape). 201 when added; re-posting identical content is a no-op
    (200, `unchanged`); other content under an existing doc_id is a conflict (409: use PUT)."""
    article = body.to_article(origin="POST /api/documents")
    return _write(engine, article, response, create_only=True)


@router.put("/{doc_id:path}", response_model=WriteResult, dependencies=[WriterCredentials],
            responses={201: {"model": WriteResult, "description": "Added"}, **WRITE_ERRORS})
def replace_document(doc_id: DocIdPath, body: ArticleBody, engine: EngineDep, response: Response) -> WriteResult:
    """Add (201) or replace (200, `updated`) the article with this doc_id; identical content is a
    no-op (200, `unchanged`). Only this article is embedded."""
    if body.id is not None and body.id != doc_id:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"id: {body.id!r} is not the doc_id of the URL ({doc_id!r}); leave it out or make them equal")
    article = body.to_article(doc_id, origin=f"PUT /api/documents/{doc_id}")
    return _write(engine, article, response, create_only=False)


@router.delete("/{doc_id:path}", response_model=WriteResult, dependencies=[WriterCredentials],
               responses={404: {"description": "Unknown doc_id", **ERROR_BODY}, **WRITE_ERRORS})
def delete_document(doc_id: DocIdPath, engine: EngineDep) -> WriteResult:
    """Delete the article; its passages never appear in answers again."""
    if not engine.delete([doc_id]):
        raise _not_found(doc_id)
    return WriteResult(doc_id=doc_id, status="deleted", passages=0)
