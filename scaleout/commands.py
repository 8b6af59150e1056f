"""The `--ray` variants of `fundstelle index` and `fundstelle serve` (cli/main.py delegates here).

Both return the process exit code and print like their single-node twins: problems a user can fix
are one red line (exit 2), a busy write lock exits 3.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from core.errors import IndexProblem, WriteBusy
from service.settings import ServiceSettings


def _fail(message: object) -> int:
    typer.secho(f"error: {message}", fg="red", err=True)
    return 2


def index_command(address: str, settings: ServiceSettings, paths: list[Path], shards: int | None,
                  embedders: int = 1, pin_shards: bool = False, quiet: bool = False) -> int:
    from scaleout.cluster import connect
    from scaleout.ingest import index_sharded
    from scaleout.manifest import MANIFEST_NAME, check, read_manifest

    root = settings.index_dir
    if not (root / MANIFEST_NAME).is_file() and shards is None:
        return _fail(f"--shards N is needed to create the sharded archive {root}")
    if (root / MANIFEST_NAME).is_file():  # refuse a mismatch before a cluster starts or a model loads
        try:
            shards = check(read_manifest(root), shards=shards, root=root).shards
        except IndexProblem as exc:
            return _fail(exc)
    try:
        with connect(address):
            report = index_sharded(root, paths, shards, settings, embedders=embedders, pin_shards=pin_shards,
                                   progress=not quiet)
    except WriteBusy as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        return 3
    except IndexProblem as exc:
        return _fail(exc)
    for error in report.errors:
        typer.secho(f"skipped {error.origin}: {error.reason}", fg="yellow", err=True)
    for warning in report.warnings:
        typer.secho(f"warning: {warning.origin}: {warning.message}", fg="yellow", err=True)
    documents = sum(d for d, _ in report.shards)
    passages = sum(p for _, p in report.shards)
    per_shard = ", ".join(f"{d}/{p}" for d, p in report.shards)
    typer.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.errors)} skipped, {len(report.warnings)} warnings; {report.passages} passages embedded in "
        f"{report.seconds:.1f}s. "
        f"Archive {root} ({len(report.shards)} shards, articles/passages {per_shard}): "
        f"{documents} articles, {passages} passages."
    )
    # as the single node: 0 all given indexed or unchanged, 2 some inputs failed (the rest indexed), 1 nothing
    return {"complete": 0, "partial": 2, "nothing": 1}[report.outcome]


def serve_command(address: str, settings: ServiceSettings, replicas: int = 1, ingress_replicas: int = 1,
                  timeout: float = 10.0, pin_shards: bool = False, proxy: str = "head-only") -> int:
    from scaleout.cluster import LOCAL, connect
    from scaleout.manifest import read_manifest
    from scaleout.serve import serve_until_stopped

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        read_manifest(settings.index_dir)  # fail in one line before any cluster starts
        with connect(address):
            serve_until_stopped(settings.index_dir, settings, settings.host, settings.port, local=address == LOCAL,
                                replicas=replicas, ingress_replicas=ingress_replicas, timeout=timeout,
                                pin_shards=pin_shards, proxy=proxy)
    except IndexProblem as exc:
        return _fail(exc)
    except RuntimeError as exc:  # Serve reports a replica that failed to start with its traceback
        message = str(exc)
        for line in reversed(message.splitlines()):
            if "Problem:" in line or "Error:" in line:
                message = line.strip()
                break
        return _fail(f"the sharded service did not start: {message}")
    return 0
