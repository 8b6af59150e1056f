from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status

from indexer.schema import DOC_ID_MAX, DOC_ID_PATTERN, ArticleBody, ArticleIn
from service.deps import EngineDep, require_reader, require_writer
from service.schemas import Document, DocumentPage, WriteResult

router = APIRouter(prefix="/api/documents", tags=["documents"])
DocIdPath = Annotated[str, Path(min_length=1, max_length=DOC_ID_MAX, pattern=DOC_ID_PATTERN)]


def _not_found(doc_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no document with doc_id {doc_id!r}")


def _check_id(doc_id: str) -> str:
    if ".." in doc_id:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "doc_id must not contain '..'")
    return doc_id


@router.get("", response_model=DocumentPage, dependencies=[Depends(require_reader)])
def list_documents(
    engine: EngineDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DocumentPage:
    """Article metadata, newest first, a page at a time."""
    total, _ = engine.index.counts()
    return DocumentPage(total=total, offset=offset, limit=limit, documents=engine.index.store.documents(offset, limit))


@router.get("/{doc_id}", response_model=Document, dependencies=[Depends(require_reader)],
            responses={404: {"description": "Unknown doc_id"}})
def get_document(doc_id: DocIdPath, engine: EngineDep) -> Document:
    """The stored article text (verbatim) with its metadata and where its passages lie."""
    document = engine.index.store.document(_check_id(doc_id))
    if document is None:
        raise _not_found(doc_id)
    return Document(**document)


def _write(engine, article, response: Response, created_status: str) -> WriteResult:
    state = engine.indexer.upsert(article)
    if state == "added":
        response.status_code = status.HTTP_201_CREATED
    passages = len(engine.index.store.document(article.doc_id)["passages"])
    return WriteResult(doc_id=article.doc_id, status=state, passages=passages)


@router.post("", response_model=WriteResult, status_code=status.HTTP_200_OK, dependencies=[Depends(require_writer)],
             responses={201: {"model": WriteResult, "description": "Added"}, 409: {"description": "doc_id exists"}})
def add_document(body: ArticleIn, engine: EngineDep, response: Response) -> WriteResult:
    """Add one article (the JSONL shape). Re-posting identical content is a no-op; different content
    under an existing doc_id is a conflict (use PUT to replace)."""
    article = body.to_article(origin="POST /api/documents")
    stored = engine.index.store.content_hashes([article.doc_id]).get(article.doc_id)
    if stored is not None and stored != article.content_hash():
        raise HTTPException(status.HTTP_409_CONFLICT, f"doc_id {article.doc_id!r} exists; use PUT to replace it")
    return _write(engine, article, response, "added")


@router.put("/{doc_id}", response_model=WriteResult, dependencies=[Depends(require_writer)],
            responses={201: {"model": WriteResult, "description": "Added"}})
def replace_document(doc_id: DocIdPath, body: ArticleBody, engine: EngineDep, response: Response) -> WriteResult:
    """Add or replace the article with this doc_id; only this article is re-embedded."""
    article = body.to_article(_check_id(doc_id), origin=f"PUT /api/documents/{doc_id}")
    return _write(engine, article, response, "added")


@router.delete("/{doc_id}", response_model=WriteResult, dependencies=[Depends(require_writer)],
               responses={404: {"description": "Unknown doc_id"}})
def delete_document(doc_id: DocIdPath, engine: EngineDep) -> WriteResult:
    """Delete the article; its passages never appear in answers again."""
    if not engine.indexer.delete([_check_id(doc_id)]):
        raise _not_found(doc_id)
    return WriteResult(doc_id=doc_id, status="deleted", passages=0)
