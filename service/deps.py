"""Request dependencies: the loaded engine and bearer-token checks.

Writes need ``Authorization: Bearer <FUNDSTELLE_API_TOKEN>``; with no (or an empty) token
configured they are refused with 403, so a fresh install is read-only. Reads are open
unless ``FUNDSTELLE_READ_TOKEN`` is set; then they need that token (or the write token).
Tokens are compared in constant time (as SHA-256 digests, so not even their length leaks).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from engine import Engine
from service.settings import ServiceSettings

bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <FUNDSTELLE_API_TOKEN>`")


def get_settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    engine = request.app.state.engine
    if engine is None:
        detail = request.app.state.load_error or "the index is still loading; try again in a few seconds"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail, headers={"Retry-After": "5"})
    return engine


def _configured(token: SecretStr | None) -> bytes | None:
    """The token's value, or None when it is unset or blank (a blank token must never match)."""
    if token is None:
        return None
    value = token.get_secret_value().strip()
    return value.encode() if value else None


def _bearer_value(authorization: str | None) -> bytes | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip().encode("utf-8", "surrogateescape")


def _matches(given: bytes | None, expected: bytes) -> bool:
    digest = hashlib.sha256(given or b"\x00not-a-token").digest()
    return hmac.compare_digest(digest, hashlib.sha256(expected).digest()) and given is not None


def _unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
    )


def authorize_writer(settings: ServiceSettings, authorization: str | None) -> None:
    """Raise 403 when writes are disabled, 401 when the bearer token is missing or wrong."""
    token = _configured(settings.api_token)
    if token is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "writes are disabled: set FUNDSTELLE_API_TOKEN to enable them")
    if not _matches(_bearer_value(authorization), token):
        raise _unauthorized()


def authorize_reader(settings: ServiceSettings, authorization: str | None) -> None:
    """Raise 401 when a read token is configured and neither it nor the write token is given."""
    read = _configured(settings.read_token)
    if read is None:
        return
    given = _bearer_value(authorization)
    write = _configured(settings.api_token)
    read_ok = _matches(given, read)
    write_ok = write is not None and _matches(given, write)  # the write token may read too
    if not (read_ok or write_ok):
        raise _unauthorized()


def require_reader(
    request: Request,
    settings: Annotated[ServiceSettings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    authorize_reader(settings, request.headers.get("authorization"))


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
# Write routes declare the bearer scheme (for the OpenAPI docs); the check itself runs once, before the
# body is read, in :class:`service.routes.documents.WriteGuardRoute`.
WriterCredentials = Depends(bearer)
