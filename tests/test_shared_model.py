"""The suite's own guard: every in-process command and engine of one configuration shares one model.

A new model per in-process CLI command cost 370 MB each and more than doubled `make check` (the
pytest process grew to 10 GB, and every fork and page fault after it slowed down)."""

from core.settings import Settings
from tests.conftest import shared_encoder


def test_the_same_configuration_shares_one_model(tmp_path):
    first = shared_encoder(Settings(index_dir=tmp_path / "a"))
    assert shared_encoder(Settings(index_dir=tmp_path / "b")) is first  # the index is not the model's business
    assert shared_encoder(Settings(encoder="torch")) is not first  # another configuration, another model
