"""Refuse request bodies over the configured size (``FUNDSTELLE_MAX_BODY_BYTES``) with 413,
before reading them whole: a declared ``Content-Length`` over the limit is refused at once,
a chunked body as soon as the bytes received pass it."""

from __future__ import annotations

import json

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from ``receive``: FastAPI passes HTTPExceptions on, so the client gets 413 (not 400)."""

    def __init__(self, max_bytes: int):
        super().__init__(413, f"request body too large: the limit is {max_bytes} bytes",
                         headers={"Connection": "close"})


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send, status: int = 413, detail: str | None = None) -> None:
        detail = detail or f"request body too large: the limit is {self.max_bytes} bytes"
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if declared:
            value = declared[0].strip()
            if len(set(declared)) > 1 or not value.isdigit():
                await self._reject(send, 400, "invalid Content-Length header")
                return
            if int(value) > self.max_bytes:
                await self._reject(send)
                return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)
