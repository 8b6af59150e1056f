"""Request dependencies: the loaded engine and bearer-token checks."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from indexer.config import Settings
from service.engine import Engine

bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <FUNDSTELLE_API_TOKEN>`")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    engine = request.app.state.engine
    if engine is None:
        detail = request.app.state.load_error or "the index is still loading; try again in a few seconds"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail, headers={"Retry-After": "5"})
    return engine


def _check(credentials: HTTPAuthorizationCredentials | None, token: SecretStr) -> None:
    given = credentials.credentials.encode() if credentials else b""
    if not hmac.compare_digest(given, token.get_secret_value().encode()):  # constant time
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


def require_writer(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    if settings.api_token is None or not settings.api_token.get_secret_value():
        raise HTTPException(status.HTTP_403_FORBIDDEN, "writes are disabled: set FUNDSTELLE_API_TOKEN to enable them")
    _check(credentials, settings.api_token)


def require_reader(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    if settings.read_token is not None and settings.read_token.get_secret_value():
        try:
            _check(credentials, settings.read_token)
        except HTTPException:
            if settings.api_token is None:
                raise
            _check(credentials, settings.api_token)  # the write token may read too


EngineDep = Annotated[Engine, Depends(get_engine)]
