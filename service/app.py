"""The app factory: settings in, FastAPI app out. The index loads in the background so
/healthz answers at once and /readyz says when questions can be asked."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from engine import Engine, LocalEngine
from service import errors, mcp
from service.limits import BodyLimitMiddleware
from service.metrics import MetricsMiddleware
from service.routes import ask, documents, health, metrics, pages, sources
from service.settings import ServiceSettings, get_settings

log = logging.getLogger("fundstelle")


def _load(app: FastAPI, settings: ServiceSettings, create: bool) -> None:
    try:
        started = time.perf_counter()
        engine = LocalEngine(settings, create=create)
        opened = time.perf_counter()
        engine.warm()  # the first question should not pay for loading the model
        app.state.engine = engine
        log.info("index ready: %s (index opened in %.1f s, models loaded in %.1f s; encoder %s)", settings.index_dir,
                 opened - started, time.perf_counter() - opened, getattr(engine.encoder, "description", "?"))
    except Exception as exc:  # the service stays up and /readyz reports why it is not ready
        log.exception("could not load the index")
        app.state.load_error = f"could not load the index: {exc}"


def create_app(settings: ServiceSettings | None = None, engine: Engine | None = None,
               create: bool = False) -> FastAPI:
    """``create``: start with an empty index when the folder holds none (otherwise that is an error)."""
    settings = settings or get_settings()

    assistants = mcp.build(mcp.loaded(lambda: app.state.engine, lambda: app.state.load_error))
    mcp_endpoint = mcp.HttpEndpoint(assistants, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if app.state.engine is None:
            threading.Thread(target=_load, args=(app, settings, create), name="index-loader", daemon=True).start()
        async with mcp_endpoint.running():
            yield
        if app.state.engine is not None:  # next start loads the cache instead of rebuilding it
            await asyncio.to_thread(app.state.engine.save)

    app = FastAPIOffline(
        title="Fundstelle",
        version="0.1.0",
        summary="Semantic question answering over news articles, with exact citations.",
        lifespan=lifespan,
        static_url="/static-docs",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.load_error = None
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    for module in (ask, documents, health, metrics, pages, sources):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    # MCP for assistants (Streamable HTTP); the tools are described by MCP itself, not in the OpenAPI schema.
    # POST only: a stateless server has no stream to offer a GET (which would otherwise stay open for good),
    # and the protocol's answer to that is 405.
    app.router.add_route("/mcp", mcp_endpoint, methods=["POST"], include_in_schema=False)
    return app
