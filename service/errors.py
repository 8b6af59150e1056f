"""Every client mistake becomes a 4xx whose message names the problem; nothing leaks as a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from indexer.errors import IndexProblem, WriteBusy

log = logging.getLogger("fundstelle")


def _describe(error: dict) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body",)]
    where = ".".join(loc)
    if error.get("type") == "json_invalid":
        return f"malformed JSON body: {error.get('ctx', {}).get('error', error.get('msg'))}"
    if error.get("type") == "missing" and where:
        return f"{where}: field required"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
    detail = "; ".join(dict.fromkeys(_describe(e) for e in exc.errors())) or "invalid request"
    return JSONResponse({"detail": detail, "errors": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def index_problem(request: Request, exc: IndexProblem) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


async def write_busy(request: Request, exc: WriteBusy) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                        headers={"Retry-After": "30"})


async def unicode_error(request: Request, exc: UnicodeDecodeError) -> JSONResponse:
    return JSONResponse({"detail": "request body is not valid UTF-8"}, status_code=status.HTTP_400_BAD_REQUEST)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(IndexProblem, index_problem)
    app.add_exception_handler(WriteBusy, write_busy)
    app.add_exception_handler(UnicodeDecodeError, unicode_error)
