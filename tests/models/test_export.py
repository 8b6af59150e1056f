"""models/export.py: the files `make install` needs are there, and a second run changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from models import DEFAULT_MODEL_DIR
from models.encoders import VARIANTS, base_digest, variant_files
from models.export import DEFAULT_VARIANTS, MANIFEST, export


def _state(paths):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_ino) for p in paths}


def test_default_exports_present_and_recorded():
    for name in DEFAULT_VARIANTS:
        files = variant_files(DEFAULT_MODEL_DIR, VARIANTS[name])  # an OpenVINO .xml is small, its .bin not
        assert all(p.is_file() for p in files) and sum(p.stat().st_size for p in files) > 10_000_000, files
    manifest = json.loads((DEFAULT_MODEL_DIR / MANIFEST).read_text())
    assert manifest["source"] == base_digest(DEFAULT_MODEL_DIR)
    assert set(DEFAULT_VARIANTS) <= set(manifest["variants"])


def test_export_is_idempotent():
    """Files present and made from the same weights: nothing is rewritten (same inode and mtime)."""
    files = [p for n in DEFAULT_VARIANTS for p in variant_files(DEFAULT_MODEL_DIR, VARIANTS[n])]
    before = _state(files)
    assert export(DEFAULT_MODEL_DIR) == files
    assert _state(files) == before
    assert not list((DEFAULT_MODEL_DIR / "onnx").glob(".export-*"))  # no temporary left behind


def test_command_line_is_idempotent_and_offline():
    files = [p for n in DEFAULT_VARIANTS for p in variant_files(DEFAULT_MODEL_DIR, VARIANTS[n])]
    before = _state(files)
    result = subprocess.run([sys.executable, "-m", "models.export", str(DEFAULT_MODEL_DIR)],
                            capture_output=True, text=True, timeout=300,
                            cwd=DEFAULT_MODEL_DIR.parent.parent)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "model exports ready" in result.stdout
    assert _state(files) == before


def test_refuses_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a sentence-transformers model folder"):
        export(tmp_path)


def test_refuses_unknown_variants():
    with pytest.raises(ValueError, match="unknown export variant"):
        export(DEFAULT_MODEL_DIR, ["tensorrt"])
