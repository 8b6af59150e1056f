"""The durability tests' processes come from one warm forkserver (tests/durability/warm.py); it ends with
this folder's tests, so its imports do not hold memory through the rest of the session."""

from __future__ import annotations

import pytest

from tests.durability import warm


@pytest.fixture(scope="package", autouse=True)
def _warm_forkserver_ends_with_the_durability_tests():
    yield
    warm.stop()
