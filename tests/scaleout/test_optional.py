"""Ray is optional: the single-node path never imports it."""

import subprocess
import sys

from tests.paths import REPO_ROOT

PROBE = """
import sys
import cli.main, engine, service.app, indexer.pipeline, retrieval.searcher
from service.app import create_app
from service.settings import ServiceSettings
create_app(ServiceSettings())
from typer.testing import CliRunner
CliRunner().invoke(cli.main.app, ["index", "--help"])
CliRunner().invoke(cli.main.app, ["serve", "--help"])
loaded = sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))
print("RAY:", loaded)
"""


def test_single_node_path_never_imports_ray():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "RAY: []" in result.stdout, result.stdout


def test_shards_option_needs_ray():
    result = subprocess.run([sys.executable, "-m", "cli", "index", "--shards", "2", "--index-dir", "/nonexistent/x"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "--shards needs --ray" in result.stderr
