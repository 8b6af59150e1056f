"""The outlets in the index, for choosing a source filter: article counts and date ranges."""

from fastapi import APIRouter, Depends

from service.deps import EngineDep, require_reader
from service.routes.common import READ_ERRORS
from service.schemas import SourceList

router = APIRouter(prefix="/api", tags=["search"], dependencies=[Depends(require_reader)])


@router.get("/sources", response_model=SourceList, summary="Outlets with article counts and date ranges",
            responses=READ_ERRORS)
def list_sources(engine: EngineDep) -> SourceList:
    """Every outlet (the articles' `source`), most articles first, with the first and last publication day.

    Spellings that differ only in case are one outlet, as the `sources` filter of `/api/ask` matches
    them case-insensitively. Articles without a source are not listed (no source filter can select them).
    """
    return SourceList(sources=engine.sources())
