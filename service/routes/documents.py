"""Article routes: list and read (open unless a read token is set), add, replace and delete
(bearer token required). A write returns once it is committed and visible to questions."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.routing import APIRoute

from indexer.ingest.schema import ArticleBody, ArticleIn, DocId
from service.deps import EngineDep, WriterCredentials, authorize_writer, require_reader
from service.routes.common import ERROR_BODY, READ_ERRORS, WRITE_ERRORS
from service.schemas import Document, DocumentPage, WriteResult

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
DocIdPath = Annotated[DocId, Path(description="Letters, digits and `_ . : @ + -`; no `..`; at most 200 characters.")]

def _not_found(doc_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no document with doc_id {doc_id!r}")


@router.get("", response_model=DocumentPage, dependencies=[Depends(require_reader)], responses=READ_ERRORS)
def list_documents(
    engine: EngineDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DocumentPage:
    """Article metadata, newest first, a page at a time."""
    total, documents = engine.documents(offset, limit)
    return DocumentPage(total=total, offset=offset, limit=limit, documents=documents)


@router.get("/{doc_id}", response_model=Document, dependencies=[Depends(require_reader)],
            responses={404: {"description": "Unknown doc_id", **ERROR_BODY}, **READ_ERRORS})
def get_document(doc_id: DocIdPath, engine: EngineDep) -> Document:
    """The stored article text (verbatim) with its metadata and where its passages lie."""
    document = engine.document(doc_id)
    if document is None:
        raise _not_found(doc_id)
    return Document(**document)


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


@router.put("/{doc_id}", response_model=WriteResult, dependencies=[WriterCredentials],
            responses={201: {"model": WriteResult, "description": "Added"}, **WRITE_ERRORS})
def replace_document(doc_id: DocIdPath, body: ArticleBody, engine: EngineDep, response: Response) -> WriteResult:
    """Add (201) or replace (200, `updated`) the article with this doc_id; identical content is a
    no-op (200, `unchanged`). Only this article is embedded."""
    article = body.to_article(doc_id, origin=f"PUT /api/documents/{doc_id}")
    return _write(engine, article, response, create_only=False)


@router.delete("/{doc_id}", response_model=WriteResult, dependencies=[WriterCredentials],
               responses={404: {"description": "Unknown doc_id", **ERROR_BODY}, **WRITE_ERRORS})
def delete_document(doc_id: DocIdPath, engine: EngineDep) -> WriteResult:
    """Delete the article; its passages never appear in answers again."""
    if not engine.delete([doc_id]):
        raise _not_found(doc_id)
    return WriteResult(doc_id=doc_id, status="deleted", passages=0)
