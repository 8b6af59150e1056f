"""Connecting to a Ray cluster: an existing one by address, or ``local``: one started here on loopback.

``local`` starts a head node on this machine with node address 127.0.0.1 (every Ray process talks
to the others over loopback) and stops it when the command ends. Ray advertises a machine's
routable address even then, unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (its single-machine mode,
the default on macOS and Windows) is set before Ray is imported: :func:`loopback_only` does that.
Any other address is an existing cluster (``ray start --head`` on one machine,
``ray start --address=HEAD:6379`` on the others); the command connects as a driver and leaves
the cluster running when it ends.

Every process that imports Ray through here runs with usage statistics off (nothing may leave
the machine). Worker processes import Fundstelle's packages like the driver: on a real cluster
Fundstelle is installed on every node (same version, same model folder path).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import IndexProblem

log = logging.getLogger(__name__)
NAMESPACE = "fundstelle"
LOCAL = "local"
# Environment that every worker of a Fundstelle job runs with (also set in this process, before Ray loads).
WORKER_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
              "TOKENIZERS_PARALLELISM": "false"}


class RayUnavailable(IndexProblem):
    """Ray is not installed, or the cluster cannot be reached."""


def loopback_only() -> None:
    """Make Ray (imported after this) use 127.0.0.1 for every node, driver and worker of this machine."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"


def import_ray():
    """``ray``, with usage statistics off; a clear message when the extra is not installed."""
    for key, value in WORKER_ENV.items():
        os.environ.setdefault(key, value)
    try:
        import ray
    except ImportError:
        raise RayUnavailable('Ray is not installed: pip install "fundstelle[ray]" (or .venv/bin/pip install -e '
                             '".[ray]") to index and serve sharded archives') from None
    return ray


def job_env() -> dict:
    """The runtime environment of this job's workers: our environment variables, and the repository on
    their path (so a cluster started from a checkout imports the same code; harmless when installed)."""
    root = str(Path(__file__).resolve().parent.parent)
    paths = [root, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env = {**WORKER_ENV, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
    if os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"):
        env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"]
    for key, value in os.environ.items():  # the service's and the model's settings reach every replica
        if key.startswith("FUNDSTELLE_") and key not in ("FUNDSTELLE_API_TOKEN", "FUNDSTELLE_READ_TOKEN"):
            env[key] = value
    return {"env_vars": env}


@contextmanager
def connect(address: str, num_cpus: float | None = None) -> Iterator[object]:
    """Connected to the cluster at ``address`` (or a new local one) for the duration of the block."""
    if address == LOCAL:
        loopback_only()
    ray = import_ray()
    if ray.is_initialized():  # a caller (a test, a notebook) connected already: use that connection
        yield ray
        return
    options = {"namespace": NAMESPACE, "runtime_env": job_env(), "log_to_driver": False}
    try:
        if address == LOCAL:
            # address="local": a new cluster even when another one runs on this machine (never join that one)
            ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False, num_cpus=num_cpus,
                     **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayUnavailable(f"cannot connect to the Ray cluster at {address!r}: {exc}") from None
    try:
        yield ray
    finally:
        ray.shutdown()  # a local cluster stops with its driver; an existing one keeps running
