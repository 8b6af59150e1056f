"""Every client mistake becomes a 4xx whose message names the problem; nothing leaks as a 500.

Error bodies are ``{"detail": "<what is wrong>"}``; validation errors (422) add ``"errors"``,
the list of the individual problems. The OpenAPI schema says so (see :func:`install`).
"""

from __future__ import annotations

import difflib
import logging
import sqlite3
from collections.abc import Callable
from typing import Any, get_args

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import Conflict, IndexProblem, Unindexable, WriteBusy
from indexer.ingest.schema import DOC_ID_PATTERN, DOC_ID_RULES
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


# Patterns in words: a client should read what is allowed, not a regular expression.
PATTERNS_IN_WORDS = {DOC_ID_PATTERN: DOC_ID_RULES}


def _describe(error: dict, known: Callable[[tuple], list[str]] = lambda loc: []) -> str:
    """One readable sentence for one validation error; ``known(loc)``: the fields allowed beside
    ``loc``'s last part (for the "did you mean" of an unknown field)."""
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "path")]
    where = ".".join(loc)
    kind = error.get("type")
    if kind == "json_invalid":
        return f"malformed JSON body: {error.get('ctx', {}).get('error', error.get('msg'))}"
    if kind == "missing" and where:
        return f"{where}: field required"
    if kind == "missing" and list(error.get("loc", ())) == ["body"]:
        return "body: field required (send a JSON object)"
    if kind == "extra_forbidden":
        what = "parameter" if error.get("loc", ("",))[0] == "query" else "field"
        close = difflib.get_close_matches(str(error["loc"][-1]), known(tuple(error["loc"])), n=1, cutoff=0.6)
        return f"{where}: unknown {what}" + (f"; did you mean {close[0]!r}?" if close else "")
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern")
        return f"{where}: {PATTERNS_IN_WORDS.get(pattern, 'not in the allowed form')}"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside a type (through Optional, list, Annotated, unions)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models(arg)]


def _known_fields(request: Request) -> Callable[[tuple], list[str]]:
    """For an error at ``loc``: the names the request's route accepts where ``loc`` points."""

    def known(loc: tuple) -> list[str]:
        route = request.scope.get("route")
        if not isinstance(route, APIRoute) or not loc:
            return []
        if loc[0] == "query":
            models = [m for p in route.dependant.query_params for m in _models(p.field_info.annotation)]
            return sorted({name for m in models for name in m.model_fields}
                          | {p.alias for p in route.dependant.query_params if not _models(p.field_info.annotation)})
        if loc[0] != "body" or route.body_field is None:
            return []
        models = _models(route.body_field.field_info.annotation)
        for part in loc[1:-1]:
            if not isinstance(part, int):  # a list index stays with the list's item models
                models = [m for model in models if part in model.model_fields
                          for m in _models(model.model_fields[part].annotation)]
        return sorted({name for m in models for name in m.model_fields})

    return known


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")),
               "type": str(e.get("type"))} for e in exc.errors()]
    known = _known_fields(request)
    detail = "; ".join(dict.fromkeys(_describe(e, known) for e in exc.errors())) or "invalid request"
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
