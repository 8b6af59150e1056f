from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.schemas import Ready

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Ready, responses={503: {"model": Ready}}, summary="The index is loaded")
def readyz(request: Request):
    engine = request.app.state.engine
    if engine is None:
        error = request.app.state.load_error
        body = Ready(status="error" if error else "loading", documents=0, passages=0, detail=error)
        return JSONResponse(body.model_dump(), status_code=503)
    state = engine.status()
    return Ready(status=state.state, documents=state.documents, passages=state.passages,
                 generation=state.generation, model=state.model, shards=state.shards)
