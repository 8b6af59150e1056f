from fastapi import APIRouter, Depends

from service import operations
from service.deps import EngineDep, require_reader
from service.metrics import observe_search
from service.routes.common import READ_ERRORS
from service.schemas import AskRequest, AskResponse

router = APIRouter(prefix="/api", tags=["search"], dependencies=[Depends(require_reader)])


@router.post("/ask", response_model=AskResponse, summary="Answer a question with cited passages",
             responses=READ_ERRORS)
def ask(body: AskRequest, engine: EngineDep) -> AskResponse:
    """The most relevant passages for the question, each with its citation and best sentence highlighted
    (`group: article`: each article's best passage; with `sort: date`, who said what, when)."""
    response = operations.ask(engine, body)
    observe_search(response)
    return response
