"""`fundstelle serve --ray`: the sharded archive on Ray Serve, behind the single node's own HTTP app.

One Serve application (``fundstelle``) of N + 1 deployments:

- ``shard-000`` … ``shard-<N-1>``: :class:`scaleout.shards.ShardReplica`, ``replicas`` replicas each,
  fractional CPUs; no model (vectors arrive embedded). Serve health-checks them and restarts a
  replica whose process dies; the new one reopens the shard folder.
- ``ingress``: the FastAPI app of :func:`service.app.create_app` (same routes, page, auth, limits,
  errors) with a :class:`scaleout.router.ShardedEngine` as its engine, which holds the model (questions
  and written articles are embedded here, once) and the shards' deployment handles.

The HTTP proxy listens on ``host:port`` on the head node only (two proxies on one machine would
fight over the port; in front of a real cluster put a load balancer over ``--proxy every-node``).
"""

from __future__ import annotations

import logging
import re
import signal
import threading
import time
from pathlib import Path

from core.errors import IndexProblem
from core.settings import Settings
from scaleout.cluster import import_ray
from scaleout.ingest import shard_resources
from scaleout.manifest import ModelIdentity, read_manifest
from scaleout.router import DEFAULT_TIMEOUT
from service.settings import ServiceSettings

log = logging.getLogger("fundstelle")
APP_NAME = "fundstelle"
SHARD_CPUS = 0.25  # a shard answers from SQLite and FAISS: light, and a 2-core machine must fit N of them
INGRESS_CPUS = 0.5  # the ingress embeds questions (and written articles)


class Ingress:
    """The ingress deployment's user class: builds the engine, then hands Serve the single node's app."""

    def __init__(self, settings: ServiceSettings, root: str, shard_handles: list, timeout: float):
        from models.encoders import load_encoder
        from scaleout.manifest import check
        from scaleout.router import ShardCalls, ShardedEngine

        manifest = read_manifest(Path(root))
        encoder = load_encoder(settings, built_with=manifest.model_fingerprint)
        check(manifest, ModelIdentity.of(encoder), root=Path(root))  # the question vectors must fit the shards'
        self.settings = settings
        self.engine = ShardedEngine(settings, manifest, ShardCalls(shard_handles, timeout), encoder)
        self.engine.warm()  # the first question should not pay for loading the model

    def __serve_build_asgi_app__(self):
        from service.app import create_app

        return create_app(self.settings, engine=self.engine)


def shard_settings(settings: Settings) -> Settings:
    """What a shard needs of the settings (not the service's tokens)."""
    return Settings.model_validate(settings.model_dump(include=set(Settings.model_fields)))


def build_app(root: Path, settings: ServiceSettings, replicas: int = 1, ingress_replicas: int = 1,
              timeout: float = DEFAULT_TIMEOUT, pin_shards: bool = False):
    """The Serve application (not yet running) for the archive at ``root``."""
    import_ray()
    from ray import serve

    from scaleout.shards import ShardReplica

    root = Path(root).resolve()
    manifest = read_manifest(root)
    # Shards store and search vectors of the archive's model; the ingress checks the configured model.
    model = ModelIdentity(manifest.model_name, manifest.model_dim, manifest.model_fingerprint)
    shard = serve.deployment(ShardReplica, health_check_period_s=2, health_check_timeout_s=30,
                             max_ongoing_requests=16, graceful_shutdown_timeout_s=5)
    shards = [
        shard.options(name=f"shard-{i:03d}", num_replicas=replicas,
                      ray_actor_options={"num_cpus": SHARD_CPUS, "resources": shard_resources(i, pin_shards)},
                      ).bind(str(root), i, model, shard_settings(settings))
        for i in range(manifest.shards)
    ]
    ingress = serve.deployment(serve.ingress()(Ingress), name="ingress", num_replicas=ingress_replicas,
                               ray_actor_options={"num_cpus": INGRESS_CPUS}, max_ongoing_requests=32,
                               graceful_shutdown_timeout_s=10)
    return ingress.bind(settings, str(root), shards, timeout)


def deploy(root: Path, settings: ServiceSettings, host: str, port: int, proxy: str = "head-only", **options):
    """Start Serve's HTTP proxy on ``host:port`` and run the archive's application; returns once it is
    running (every replica constructed: a manifest or model mismatch fails here, with its message)."""
    import_ray()
    from ray import serve

    app = build_app(root, settings, **options)
    serve.start(http_options={"host": host, "port": port},
                proxy_location="HeadOnly" if proxy == "head-only" else "EveryNode")
    try:
        return serve.run(app, name=APP_NAME, route_prefix="/")
    except RuntimeError:
        why = _why_not_running()
        serve.delete(APP_NAME)  # Serve would retry the failing replicas for a while: the cause will not go away
        raise IndexProblem(f"the sharded service did not start: {why}") from None


def _why_not_running() -> str:
    """The exception line of the replica that failed to start (Serve keeps its traceback in the status)."""
    from ray import serve

    try:
        app = serve.status().applications[APP_NAME]
        messages = [d.message for d in app.deployments.values() if d.message] + [app.message or ""]
    except Exception:  # the status itself is unavailable: the logs have it
        return "see the Ray Serve logs (/tmp/ray/session_latest/logs/serve/)"
    for message in messages:
        for line in reversed(message.splitlines()):
            if re.match(r"^[\w.]+(Problem|Error|Exception|Unavailable): ", line.strip()):
                return line.strip()
    return next((m for m in messages if m), "see the Ray Serve logs")


def serve_until_stopped(root: Path, settings: ServiceSettings, host: str, port: int, local: bool,
                        **options) -> None:
    """Deploy, then wait for SIGINT/SIGTERM; on the way out remove the application (a local cluster stops
    with the command; an existing one keeps running without it)."""
    from ray import serve

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    deploy(root, settings, host, port, **options)
    log.info("serving %s on http://%s:%s (Ray Serve)", root, host, port)
    print(f"serving the sharded archive {root} on http://{host}:{port}/ (Ray Serve; Ctrl-C stops)", flush=True)
    try:
        while not stop.is_set():
            time.sleep(0.5)
    finally:
        try:
            serve.delete(APP_NAME)
            if local:
                serve.shutdown()
        except Exception as exc:  # the cluster may be gone already; nothing left to clean then
            log.warning("could not remove the Serve application: %s", exc)
