"""Every client mistake becomes a 4xx whose message names the problem; nothing leaks as a 500.

Error bodies are ``{"detail": "<what is wrong>"}``; validation errors (422) add ``"errors"``,
the list of the individual problems. The OpenAPI schema says so (see :func:`install`).
"""

from __future__ import annotations

import logging
import sqlite3

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import Conflict, IndexProblem, Unindexable, WriteBusy
from service.routes.common import ERROR_BODY

log = logging.getLogger("fundstelle")

VALIDATION_ERROR_SCHEMA = {
    "title": "ValidationErrorBody",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "All problems in one readable sentence."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


ERROR_SCHEMA = {
    "title": "ErrorBody",
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string", "description": "What is wrong, and what to do."}},
}


def _describe(error: dict) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body",)]
    where = ".".join(loc)
    if error.get("type") == "json_invalid":
        return f"malformed JSON body: {error.get('ctx', {}).get('error', error.get('msg'))}"
    if error.get("type") == "missing" and where:
        return f"{where}: field required"
    if error.get("type") == "missing" and list(error.get("loc", ())) == ["body"]:
        return "body: field required (send a JSON object)"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")),
               "type": str(e.get("type"))} for e in exc.errors()]
    detail = "; ".join(dict.fromkeys(_describe(e) for e in exc.errors())) or "invalid request"
    return JSONResponse({"detail": detail, "errors": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def http_error(request: Request, exc: StarletteHTTPException):
    """FastAPI's own 400 for an unreadable body says only "There was an error parsing the body":
    say why."""
    if exc.status_code == status.HTTP_400_BAD_REQUEST:
        if isinstance(exc.__cause__, UnicodeDecodeError):
            return await unicode_error(request, exc.__cause__)
        if isinstance(exc.__cause__, RecursionError):
            return JSONResponse({"detail": "malformed JSON body: nested too deeply"},
                                status_code=status.HTTP_400_BAD_REQUEST)
    return await http_exception_handler(request, exc)


async def index_problem(request: Request, exc: IndexProblem) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


async def write_busy(request: Request, exc: WriteBusy) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                        headers={"Retry-After": "30"})


async def conflict(request: Request, exc: Conflict) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)


async def unindexable(request: Request, exc: Unindexable) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def unicode_error(request: Request, exc: UnicodeDecodeError) -> JSONResponse:
    return JSONResponse({"detail": f"request body is not valid UTF-8 (byte {exc.start})"},
                        status_code=status.HTTP_400_BAD_REQUEST)


async def database_busy(request: Request, exc: sqlite3.OperationalError) -> JSONResponse:
    log.warning("database error on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": f"the index is busy or unavailable ({exc}); try again"},
                        status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug, not a client mistake: logged with its traceback, answered without internals."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error; the service logged the details"},
                        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)


def _document_errors(app: FastAPI) -> None:
    """Describe the real 422 body (a readable ``detail`` string) instead of FastAPI's default."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        if "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"] = VALIDATION_ERROR_SCHEMA
            schemas.pop("ValidationError", None)
        schemas["ErrorBody"] = ERROR_SCHEMA
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                if isinstance(operation, dict) and "requestBody" in operation:  # any route that reads a body
                    responses = operation.setdefault("responses", {})
                    responses.setdefault("400", {"description": "Body is not valid UTF-8 or nested too deeply",
                                                 **ERROR_BODY})
                    responses.setdefault("413", {"description": "Request body too large", **ERROR_BODY})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(IndexProblem, index_problem)
    app.add_exception_handler(WriteBusy, write_busy)
    app.add_exception_handler(Conflict, conflict)
    app.add_exception_handler(Unindexable, unindexable)
    app.add_exception_handler(UnicodeDecodeError, unicode_error)
    app.add_exception_handler(sqlite3.OperationalError, database_busy)
    app.add_exception_handler(Exception, unexpected)
    _document_errors(app)
