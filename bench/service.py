"""A running `fundstelle serve` for the benchmarks that measure over HTTP: a free port, and waiting for /readyz."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen | None = None, timeout: float = 600, every: float = 1.0) -> float:
    """Seconds until ``url``/readyz answers 200; RuntimeError when ``process`` exits or time runs out
    (the process is killed then)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(every)
    if process is not None:
        process.kill()
    raise RuntimeError(f"{url} was not ready in {timeout:.0f} s")
