"""HTML pages: the chat UI served at ``/``.

The page itself is static (``service/static/index.html``); its script, style
sheet and icon are served by the ``/static`` mount of the app factory. The
page is sent with a strict Content-Security-Policy: only same-origin scripts,
styles, images and fetches, no inline script or style attributes, no framing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
INDEX_HTML = STATIC_DIR / "index.html"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; "
    "script-src 'self'; "
    "style-src 'self'; "
    "img-src 'self' data:; "
    "connect-src 'self'; "
    "base-uri 'none'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}

router = APIRouter()


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
def index_page() -> FileResponse:
    """The chat page."""
    return FileResponse(INDEX_HTML, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)
