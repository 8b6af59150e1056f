from fastapi import APIRouter, Request, Response

from service.metrics import render

router = APIRouter(tags=["health"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    body, content_type = render(request.app.state.engine)
    return Response(body, media_type=content_type)
