"""`python -m MODULE ARGS` as a process of its own, forked from a warm interpreter.

The crash and live-service tests need real processes (a real SIGKILL, writers beside a reader), but each
fresh interpreter first imports torch, sentence-transformers and the compound-split tables: about 9 s of
CPU before its first line of work, 10 processes per `make test`. The standard library's forkserver
imports them once (PRELOAD) and forks each process from there; the process then runs MODULE as
`python -m` would, with its own environment, working directory, output files and exit code, and it is
killed with a real signal. It loads the model itself, as a fresh process does (after the fork: an ONNX
session's threads do not survive a fork).

:func:`python_m` returns an object with the parts of :class:`subprocess.Popen` the tests use.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import runpy
import subprocess
import sys
import tempfile
from pathlib import Path

# What every `fundstelle index` imports before its first line of work (the model code, the write
# pipeline, the compound-split tables); imported once, in the forkserver. (Not the modules run with
# `-m`: runpy runs a fresh copy of those.)
PRELOAD = ["sentence_transformers", "onnxruntime", "cli.main", "engine.local", "store.store", "store.vectors",
           "tests.durability.warm"]
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(PRELOAD)


def _run_module(module: str, args: list[str], env: dict[str, str], cwd: str, stdout: str, stderr: str) -> None:
    """In the forked process: `python -m MODULE ARGS` with ENV in CWD, its output to the two files."""
    multiprocessing.set_start_method(None, force=True)  # the platform's default, as in a fresh interpreter
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    for fd, path in ((1, stdout), (2, stderr)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)  # SystemExit: the process's exit code


class WarmProcess:
    """A process started by :func:`python_m`: poll, send_signal, communicate and returncode as Popen has them."""

    def __init__(self, module: str, args: list[str], env: dict[str, str], cwd: Path):
        self._output = Path(tempfile.mkdtemp(prefix="warm-process-"))
        self.args = [module, *args]
        self._process = _CONTEXT.Process(target=_run_module, args=(
            module, list(args), dict(env), str(cwd), str(self._output / "stdout"), str(self._output / "stderr")))
        self._process.start()
        self.pid = self._process.pid

    @property
    def returncode(self) -> int | None:
        """The exit code; -N when signal N ended it (as Popen says it)."""
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return tuple((self._output / name).read_text(encoding="utf-8", errors="replace")
                     for name in ("stdout", "stderr"))


def python_m(module: str, *args: str, env: dict[str, str] | None = None, cwd: Path) -> WarmProcess:
    """`python -m MODULE ARGS` (env: the whole environment, as Popen's env=) forked from the warm interpreter."""
    return WarmProcess(module, list(args), dict(os.environ if env is None else env), cwd)


def stop() -> None:
    """End the forkserver (and the memory its imports hold) once no test needs it any more."""
    forkserver = getattr(multiprocessing.forkserver, "_forkserver", None)
    if forkserver is not None and hasattr(forkserver, "_stop"):
        forkserver._stop()
