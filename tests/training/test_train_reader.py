"""`fundstelle model train-reader --smoke`: the whole training path (data, model, loss, saving) in a few steps."""

from __future__ import annotations

import json

import pytest
from safetensors import safe_open
from typer.testing import CliRunner

from cli.main import app
from models import DEFAULT_MODEL_DIR
from models.reader.network import load_delta
from models.reader.recipe import RECIPE_FILE, WEIGHTS_FILE
from tests.paths import SHARED_DATA
from training.reader import SMOKE  # imported here: the import (torch, the data) is not the smoke run's time

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "xquad" / "split.json").is_file(),
                                reason=f"the shared data sets are not at {SHARED_DATA}")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("reader-smoke")
    result = CliRunner().invoke(app, ["model", "train-reader", "--smoke", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_smoke_run_writes_the_upper_layers_and_the_head(smoke):
    recipe = json.loads((smoke / RECIPE_FILE).read_text())
    assert recipe["steps"] == recipe["planned_steps"] == 2 and not recipe["stopped_early"]
    assert recipe["trainable_layers"] == SMOKE.trainable_layers == 1 and recipe["config"]["seed"] == 13
    with safe_open(str(smoke / WEIGHTS_FILE), "pt") as weights:
        names = set(weights.keys())
        assert str(weights.get_tensor("encoder.encoder.layer.11.output.dense.weight").dtype) == "torch.float16"
    assert {"head.weight", "head.bias"} <= names
    assert all(n.startswith(("encoder.encoder.layer.11.", "head.")) for n in names)  # nothing else is shipped


def test_weights_trained_on_another_e5_folder_are_refused(smoke, tmp_path):
    recipe = json.loads((smoke / RECIPE_FILE).read_text())
    (tmp_path / WEIGHTS_FILE).write_bytes((smoke / WEIGHTS_FILE).read_bytes())
    (tmp_path / RECIPE_FILE).write_text(json.dumps({**recipe, "base_digest": "0" * 64}))
    with pytest.raises(ValueError, match="another e5 folder"):
        load_delta(tmp_path, DEFAULT_MODEL_DIR)
