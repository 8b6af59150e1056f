"""The running service over HTTP, for `fundstelle ask --server` and `fundstelle list --server`: the same
requests a browser or a script sends, with the read token when one is set (FUNDSTELLE_READ_TOKEN)."""

from __future__ import annotations

import httpx

TIMEOUT_S = 120  # a busy service answers in well under a second; a cold one may still be loading


class ServiceError(Exception):
    """The service could not be reached or refused the request; the message says which and why."""


def call(server: str, method: str, path: str, token: str | None = None, **kwargs) -> dict:
    """The JSON the service answers to ``method path`` (``kwargs``: httpx's ``json``, ``params``)."""
    if not server.startswith(("http://", "https://")):
        raise ServiceError(f"--server {server!r}: give the service's URL, e.g. http://127.0.0.1:8000")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.request(method, server.rstrip("/") + path, headers=headers, timeout=TIMEOUT_S, **kwargs)
    except httpx.HTTPError as exc:
        raise ServiceError(f"cannot reach the service at {server}: {exc or type(exc).__name__}") from exc
    if response.status_code == 401:
        raise ServiceError(f"the service at {server} needs a read token: set FUNDSTELLE_READ_TOKEN"
                           + (" (the one given was refused)" if token else ""))
    try:
        body = response.json()
    except ValueError:
        raise ServiceError(f"{server}{path} answered {response.status_code} without JSON: is it a Fundstelle "
                           "service?") from None
    if response.status_code >= 400:
        detail = body.get("detail") if isinstance(body, dict) else None
        raise ServiceError(f"the service answered {response.status_code}: {detail or response.reason_phrase}")
    return body
