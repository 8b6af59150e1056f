"""Fetch web pages and feeds for the CLI (``fundstelle index URL``, ``fundstelle watch FEED``).

Never used by the HTTP service: the service must not fetch URLs a client names (no server-side
request forgery). Every limit is explicit and every failure is a :class:`ReadError` naming the URL
and the reason; no exception escapes :meth:`Fetcher.fetch`.

Limits: connect and read time-outs, a total time per URL (a server that drips bytes slowly is cut
off too), a maximum body size (read as a stream and stopped at the limit, a too large
Content-Length refused before reading), a maximum number of redirects (a loop is reported as
such), http and https only (also for every redirect target), and the content type: HTML pages, PDF
documents and XML feeds only, anything else refused with its type before the body is read.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx

from indexer.ingest.errors import ReadError

USER_AGENT = "Fundstelle/0.1 (+https://github.com/fundstelle)"
HTML_TYPES = {"text/html", "application/xhtml+xml"}
PDF_TYPES = {"application/pdf", "application/x-pdf"}
FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml",
              "application/x-rss+xml"}
REDIRECTS = {301, 302, 303, 307, 308}
Kind = Literal["html", "pdf", "feed"]
KIND_TYPES: dict[str, set[str]] = {"html": HTML_TYPES, "pdf": PDF_TYPES, "feed": FEED_TYPES}
_KIND_NAMES = {"html": "HTML pages", "pdf": "PDF documents", "feed": "RSS/Atom feeds"}
EVERY_KIND: tuple[Kind, ...] = ("html", "pdf", "feed")


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 10.0  # seconds
    read_timeout: float = 20.0  # seconds without a byte
    total_timeout: float = 60.0  # seconds for the whole URL, redirects included
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5


@dataclass(frozen=True)
class Fetched:
    url: str  # where the content came from, after redirects
    requested: str  # the URL asked for
    content_type: str  # media type without parameters, lower case
    charset: str | None
    body: bytes

    @property
    def kind(self) -> Kind:
        if self.content_type in HTML_TYPES:
            return "html"
        return "pdf" if self.content_type in PDF_TYPES else "feed"


class FetchFailed(Exception):
    """Internal: one reason a URL could not be fetched (becomes a ReadError)."""


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be fetched (not http/https, no host), or None if it can."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"invalid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return f"only http and https URLs can be fetched, not {parts.scheme or 'a relative URL'}:"
    if not parts.hostname:
        return "invalid URL (no host)"
    return None


def _media_type(header: str | None) -> tuple[str, str | None]:
    if not header:
        return "", None
    media, _, params = header.partition(";")
    charset = re.search(r"charset\s*=\s*\"?([\w.:-]+)", params, re.IGNORECASE)
    return media.strip().lower(), charset[1] if charset else None


def _size(value: int) -> str:
    return f"{value / 1024 / 1024:.1f} MiB" if value >= 1024 * 1024 else f"{value} bytes"


class Fetcher:
    """Fetches URLs with fixed limits; reuse one for many URLs (it keeps connections open)."""

    def __init__(self, limits: FetchLimits | None = None, transport: httpx.BaseTransport | None = None):
        self.limits = limits or FetchLimits()
        timeout = httpx.Timeout(connect=self.limits.connect_timeout, read=self.limits.read_timeout,
                                write=self.limits.read_timeout, pool=self.limits.connect_timeout)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, transport=transport,
            headers={"User-Agent": USER_AGENT,
                     "Accept": "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
                               "application/xml;q=0.9,text/xml;q=0.9,application/pdf;q=0.8",
                     "Accept-Language": "de,en;q=0.8"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def fetch(self, url: str, kinds: tuple[Kind, ...] = EVERY_KIND) -> Fetched | ReadError:
        """The page, PDF or feed at ``url``, or a ReadError(origin=url, reason=...). ``kinds``: what
        may come back (a feed is never a PDF: following one, a PDF is refused before its body is read)."""
        try:
            return self._fetch(url, kinds)
        except FetchFailed as exc:
            return ReadError(url, str(exc))
        except httpx.ConnectTimeout:
            return ReadError(url, f"timed out connecting (after {self.limits.connect_timeout:g} s)")
        except httpx.ReadTimeout:
            return ReadError(url, f"timed out waiting for the server (no data for {self.limits.read_timeout:g} s)")
        except httpx.TimeoutException as exc:
            return ReadError(url, f"timed out ({type(exc).__name__})")
        except httpx.ConnectError as exc:
            return ReadError(url, f"cannot connect: {exc}")
        except httpx.HTTPError as exc:
            return ReadError(url, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a fetch must never take the whole run down
            return ReadError(url, f"unexpected error: {type(exc).__name__}: {exc}")

    def _fetch(self, url: str, kinds: tuple[Kind, ...]) -> Fetched:
        limits = self.limits
        deadline = time.monotonic() + limits.total_timeout
        current, seen = url, [url]
        for _ in range(limits.max_redirects + 1):
            if problem := check_url(current):
                raise FetchFailed(problem if current == url else f"redirected to {current}: {problem}")
            if time.monotonic() > deadline:
                raise FetchFailed(f"took longer than {limits.total_timeout:g} s")
            with self._client.stream("GET", current) as response:
                if response.status_code in REDIRECTS and "location" in response.headers:
                    target = urljoin(current, response.headers["location"])
                    if target in seen:
                        raise FetchFailed(f"redirect loop ({' -> '.join([*seen, target])})")
                    seen.append(target)
                    current = target
                    continue
                if response.status_code >= 400:
                    raise FetchFailed(f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
                if response.status_code != 200:
                    raise FetchFailed(f"unexpected HTTP status {response.status_code} {response.reason_phrase}")
                media, charset = _media_type(response.headers.get("content-type"))
                if not any(media in KIND_TYPES[kind] for kind in kinds):
                    names = [_KIND_NAMES[kind] for kind in kinds]
                    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
                    raise FetchFailed(f"unsupported content type {media or '(none given)'}; only {listed}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limits.max_bytes:
                    raise FetchFailed(f"too large ({_size(int(declared))}; the limit is {_size(limits.max_bytes)})")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > limits.max_bytes:
                        raise FetchFailed(f"too large (more than {_size(limits.max_bytes)}, the limit)")
                    if time.monotonic() > deadline:
                        raise FetchFailed(f"took longer than {limits.total_timeout:g} s")
                return Fetched(url=str(response.url), requested=url, content_type=media, charset=charset,
                               body=bytes(body))
        raise FetchFailed(f"too many redirects (more than {limits.max_redirects})")
