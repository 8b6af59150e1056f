"""The fp32 torch encoder (the recipe's own weights) for the model tests, loaded once for this folder."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="package")
def torch_encoder():
    """``load_encoder(Settings(encoder="torch"))``, shared by test_build_e5 and test_encoders and dropped
    after tests/models (unlike the session's int8 model, nothing else needs its 470 MB)."""
    from core.settings import Settings
    from models.encoders import load_encoder

    return load_encoder(Settings(encoder="torch"))
