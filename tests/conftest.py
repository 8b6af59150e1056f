"""Shared fixtures: the real model, a real index on disk, a real server on loopback.

One test process loads the model once (:func:`shared_encoder`): every in-process test, every in-process
`fundstelle` run (:func:`cli_here`) and every in-process server (:func:`serve_here`) uses it. A test starts
another interpreter (:func:`cli`, :func:`start_server`) only for what needs one: a real `fundstelle serve`
process, a process that is killed, or a second process writing to an index that this one reads.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from tests.paths import BUNDLED_CORPUS, REPO_ROOT

API_TOKEN = "test-token-0123456789"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they start, so `make check` (-m "not browser and not ray and not slow") leaves
    them out whatever their module says: a real chromium (the chromium fixture), a Ray cluster (cluster)."""
    for item in items:
        if "chromium" in item.fixturenames:
            item.add_marker(pytest.mark.browser)
        if "cluster" in item.fixturenames:
            item.add_marker(pytest.mark.ray)


def cli(*args: str, env: dict | None = None, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    """Run `fundstelle ARGS` in a fresh process, as a user would (a new interpreter: it loads torch and the
    model again; :func:`cli_here` runs the same command in this process)."""
    result = subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"fundstelle {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


_ENCODERS: dict[tuple, object] = {}
_ENCODERS_LOCK = threading.Lock()


def shared_encoder(settings: Settings, built_with: str | None = None):
    """``models.encoders.load_encoder(settings, built_with)``, loaded once per test process for each distinct encoder
    configuration: the same object every time the same configuration is asked for again."""
    from models.encoders import load_encoder

    wanted = load_encoder(settings, built_with)  # cheap: the model itself loads on first use
    # whatever it was given: its public attributes (a private one such as a lock has a new repr per object, and
    # keying on it loaded a new model for every in-process CLI command: +370 MB each, make check 131 -> 312 s)
    key = tuple(sorted((name, repr(value)) for name, value in vars(wanted).items() if not name.startswith("_")))
    with _ENCODERS_LOCK:
        return _ENCODERS.setdefault(key, wanted)


def share_the_model() -> None:
    """From now on a LocalEngine made in this process without an encoder (the CLI's commands, the app's
    background loader) gets :func:`shared_encoder`'s model instead of loading its own copy."""
    import engine.local

    engine.local.load_encoder = shared_encoder


def cli_here(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run `fundstelle ARGS` in this process (Typer's test runner) with this process's model: the same
    command code, exit code, stdout and stderr as :func:`cli`, without an interpreter that loads torch and
    the model again. ``env`` is set for the run only, as :func:`cli` sets it for its process."""
    from typer.testing import CliRunner

    from cli.main import app

    share_the_model()
    result = CliRunner().invoke(app, list(args), env=env)
    stderr, code = result.stderr, result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # what the process would have printed before dying of it
        stderr += "".join(traceback.format_exception(result.exception))
        code = 1
    completed = subprocess.CompletedProcess(["fundstelle", *args], code, result.stdout, stderr)
    if check and code != 0:
        raise AssertionError(f"fundstelle {' '.join(args)} failed ({code}):\n{stderr[-3000:]}")
    return completed


def _base_env() -> dict[str, str]:
    """The test process's environment without a developer's read token (tests set their own)."""
    return {k: v for k, v in os.environ.items() if k != "FUNDSTELLE_READ_TOKEN"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    index_dir: Path
    process: subprocess.Popen | None  # None: served by a thread of this process (serve_here)
    token: str = API_TOKEN
    runner: object | None = None  # serve_here's uvicorn.Server
    thread: threading.Thread | None = None
    owns_engine: bool = False  # serve_here without an engine: the app loaded it, stop_server closes it
    log: Path | None = None  # a process's output

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)


def start_server(index_dir: Path, env: dict | None = None, log_path: Path | None = None) -> Server:
    """`fundstelle serve` as a process of its own, ready to answer (a new interpreter: torch and the model)."""
    return wait_ready(launch_server(index_dir, env, log_path))


def launch_server(index_dir: Path, env: dict | None = None, log_path: Path | None = None) -> Server:
    """Start `fundstelle serve` as a process of its own and return at once; wait_ready waits for its index."""
    port = free_port()
    log_path = log_path or index_dir.parent / f"server-{port}.log"
    with open(log_path, "w") as log:  # the process writes to its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--index-dir", str(index_dir), "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**_base_env(), "FUNDSTELLE_API_TOKEN": API_TOKEN, **(env or {})},
        )
    return Server(f"http://127.0.0.1:{port}", index_dir, process, log=log_path)


def wait_ready(server: Server, timeout: float = 180) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}: {server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.process.kill()
    raise RuntimeError(f"server not ready in time: {server.log.read_text()[-3000:]}")


def serve_here(settings, engine=None, create: bool = False) -> Server:
    """What `fundstelle serve` runs (service.app.create_app under uvicorn, its defaults, a loopback port),
    in a thread of this process with this process's model: a real HTTP server without a second interpreter.
    Without ``engine`` the app loads the index in the background, as `fundstelle serve` does."""
    import uvicorn

    from service.app import create_app

    share_the_model()
    port = free_port()
    runner = uvicorn.Server(uvicorn.Config(create_app(settings, engine=engine, create=create), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=runner.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not runner.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            runner.should_exit = True
            raise RuntimeError(f"the in-process server on port {port} did not start")
        time.sleep(0.01)
    app = runner.config.app
    while engine is None and app.state.engine is None and app.state.load_error is None:  # as start_server: ready
        if time.monotonic() > deadline:
            runner.should_exit = True
            raise RuntimeError(f"the in-process server on port {port} did not load its index in time")
        time.sleep(0.05)
    return Server(f"http://127.0.0.1:{port}", settings.index_dir, None, runner=runner, thread=thread,
                  owns_engine=engine is None)


def served_settings(index_dir: Path, **overrides):
    """What start_server's process reads: this environment without a read token, writes with API_TOKEN."""
    from service.settings import ServiceSettings

    return ServiceSettings(**{"index_dir": index_dir, "api_token": API_TOKEN, "read_token": None, **overrides})


def stop_server(server: Server) -> None:
    if server.process is None:  # serve_here: uvicorn's own graceful shutdown (the app saves the vector cache)
        server.runner.should_exit = True
        server.thread.join(timeout=60)
        engine = server.runner.config.app.state.engine
        if server.owns_engine and engine is not None:
            engine.close()
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def embedder():
    """The configured model, loaded once for the whole test process (see shared_encoder)."""
    return shared_encoder(Settings())


def copy_index(folder: Path, parent: Path) -> Path:
    """A copy of the index ``folder`` as PARENT/index (without lock files), for a test that writes."""
    shutil.copytree(folder, parent / "index", ignore=shutil.ignore_patterns("*.lock"))
    return parent / "index"


_LAUNCHED: dict[str, Server] = {}  # processes started ahead of the tests that use them


@pytest.fixture(scope="session")
def sample_index_dir(tmp_path_factory, embedder, request) -> Path:
    """The bundled corpus, indexed once per session with the real pipeline. Copy before writing.

    When the session will use served_process, its `fundstelle serve` starts here, on its own copy: its
    interpreter loads torch and the model (about 10 s of a core) beside the tests that run before it."""
    from indexer.ingest.readers import read_articles
    from indexer.pipeline import ArticleIndexer
    from store.index import Index

    folder = tmp_path_factory.mktemp("sample") / "index"
    settings = Settings(index_dir=folder)
    index = Index.open(folder, embedder, create=True)
    ArticleIndexer(index, settings).run(read_articles([BUNDLED_CORPUS]))
    index.store.close()
    if any("served_process" in item.fixturenames for item in request.session.items):
        _LAUNCHED["served_process"] = launch_server(copy_index(folder, tmp_path_factory.mktemp("served-process")))
        request.addfinalizer(lambda: [stop_server(s) for s in _LAUNCHED.values()])  # launched, never used
    return folder


@pytest.fixture
def index_copy(sample_index_dir, tmp_path) -> Path:
    """A private copy of the sample index that a test may change."""
    return copy_index(sample_index_dir, tmp_path)


@pytest.fixture(scope="session")
def engine(sample_index_dir, embedder):
    """Searches the (unchanged) sample index in-process."""
    from engine import LocalEngine

    return LocalEngine(Settings(index_dir=sample_index_dir), encoder=embedder)


@pytest.fixture(scope="session")
def served_process(sample_index_dir, tmp_path_factory) -> Server:
    """A real `fundstelle serve` process (start_server) on a copy of the sample index, writes with API_TOKEN:
    for what only a process of its own shows (the command, its settings from the environment, another
    process writing to the index it serves). Started early when the session uses it (see sample_index_dir)."""
    running = _LAUNCHED.pop("served_process", None) or launch_server(
        copy_index(sample_index_dir, tmp_path_factory.mktemp("served-process")))
    yield wait_ready(running)
    stop_server(running)


@pytest.fixture(scope="session")
def server(sample_index_dir, tmp_path_factory, embedder) -> Server:
    """The HTTP service on loopback (serve_here) on a copy of the sample index, writes enabled with API_TOKEN,
    no read token. tests/service/test_write_api.py starts a `fundstelle serve` process of its own."""
    from engine import LocalEngine

    settings = served_settings(copy_index(sample_index_dir, tmp_path_factory.mktemp("served")))
    engine = LocalEngine(settings, encoder=embedder)
    running = serve_here(settings, engine)
    yield running
    stop_server(running)
    engine.close()


@pytest.fixture(scope="module")
def web():
    """A real web server on 127.0.0.1 with news pages, feeds and every kind of trouble (tests/fixtures/web)."""
    from tests.fixtures.web.server import start, stop

    # /slow answers after 1 s: past the fetch tests' 0.5 s read limit, and what each `watch` round of
    # tests/cli waits (the CLI's limits wait it out)
    server = start(slow_seconds=1, drip_seconds=4)
    yield server
    stop(server)
