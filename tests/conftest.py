"""Shared fixtures: the real model, a real index on disk, a real server on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from tests.paths import BUNDLED_CORPUS, REPO_ROOT

API_TOKEN = "test-token-0123456789"


def cli(*args: str, env: dict | None = None, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    """Run `fundstelle ARGS` in a fresh process, as a user would."""
    result = subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"fundstelle {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


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
    process: subprocess.Popen
    token: str = API_TOKEN

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)


def start_server(index_dir: Path, env: dict | None = None, log_path: Path | None = None) -> Server:
    port = free_port()
    log = open(log_path or index_dir.parent / f"server-{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--index-dir", str(index_dir), "--host", "127.0.0.1",
         "--port", str(port)],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**_base_env(), "FUNDSTELLE_API_TOKEN": API_TOKEN, **(env or {})},
    )
    server = Server(f"http://127.0.0.1:{port}", index_dir, process)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {Path(log.name).read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"server not ready in time: {Path(log.name).read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def embedder():
    from models.encoders import load_encoder

    return load_encoder(Settings())


@pytest.fixture(scope="session")
def sample_index_dir(tmp_path_factory, embedder) -> Path:
    """The bundled corpus, indexed once per session with the real pipeline. Copy before writing."""
    from indexer.ingest.readers import read_articles
    from indexer.pipeline import ArticleIndexer
    from store.index import Index

    folder = tmp_path_factory.mktemp("sample") / "index"
    settings = Settings(index_dir=folder)
    index = Index.open(folder, embedder, create=True)
    ArticleIndexer(index, settings).run(read_articles([BUNDLED_CORPUS]))
    index.store.close()
    return folder


@pytest.fixture
def index_copy(sample_index_dir, tmp_path) -> Path:
    """A private copy of the sample index that a test may change."""
    target = tmp_path / "index"
    shutil.copytree(sample_index_dir, target, ignore=shutil.ignore_patterns("*.lock"))
    return target


@pytest.fixture(scope="session")
def engine(sample_index_dir, embedder):
    """Searches the (unchanged) sample index in-process."""
    from engine import LocalEngine

    return LocalEngine(Settings(index_dir=sample_index_dir), encoder=embedder)


@pytest.fixture(scope="session")
def server(sample_index_dir, tmp_path_factory) -> Server:
    """`fundstelle serve` on a copy of the sample index, writes enabled with API_TOKEN."""
    folder = tmp_path_factory.mktemp("served") / "index"
    shutil.copytree(sample_index_dir, folder, ignore=shutil.ignore_patterns("*.lock"))
    running = start_server(folder)
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def web():
    """A real web server on 127.0.0.1 with news pages, feeds and every kind of trouble (tests/fixtures/web)."""
    from tests.fixtures.web.server import start, stop

    server = start(slow_seconds=2, drip_seconds=4)
    yield server
    stop(server)
