"""Prometheus metrics: request counts and latencies per route, search timings, index size."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Receive, Scope, Send

REGISTRY = CollectorRegistry()
REQUESTS = Counter("fundstelle_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram("fundstelle_http_request_seconds", "HTTP request latency", ["method", "route"], registry=REGISTRY)
SEARCH = Histogram("fundstelle_search_seconds", "Time to answer a question", registry=REGISTRY,
                   buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
EMPTY = Counter("fundstelle_search_empty_total", "Questions answered with no passage", registry=REGISTRY)
DOCUMENTS = Gauge("fundstelle_documents", "Articles in the index", registry=REGISTRY)
PASSAGES = Gauge("fundstelle_passages", "Passages in the index", registry=REGISTRY)


def observe_search(response) -> None:
    SEARCH.observe(response.took_ms / 1000)
    if not response.passages:
        EMPTY.inc()


def render(engine) -> tuple[bytes, str]:
    if engine is not None:
        state = engine.status()
        DOCUMENTS.set(state.documents)
        PASSAGES.set(state.passages)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts every HTTP request by its route template (not the raw path: ids would explode labels)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            REQUESTS.labels(scope["method"], label, str(status["code"])).inc()
            LATENCY.labels(scope["method"], label).observe(time.perf_counter() - started)
