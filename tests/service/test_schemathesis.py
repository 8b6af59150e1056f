"""Property-based fuzzing of every operation in the service's OpenAPI schema (schemathesis 4).

The app runs in-process (ASGI, the real routes, middleware and error handlers) on a private
copy of the sample index with writes enabled, so generated articles are really embedded and
stored. Valid and invalid inputs, a bounded number of examples per operation; the property:
no 5xx, and every response conforms to the schema (status code, content type, body, headers).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from engine import LocalEngine
from service.app import create_app
from service.settings import ServiceSettings
from tests.conftest import API_TOKEN

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


# The schema is read from the app at import time (schemathesis.pytest.from_fixture does not work
# with pytest 9); the index is attached by the module fixture below before any request is made.
APP = create_app(ServiceSettings(index_dir=Path("/nonexistent"), api_token=API_TOKEN))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.update(headers={"Authorization": f"Bearer {API_TOKEN}"})  # the write routes need it
schema.config.phases.update(phases=["examples", "fuzzing"])
schema.config.generation.update(max_examples=MAX_EXAMPLES, modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                deterministic=True, database="none")


@pytest.fixture(scope="module", autouse=True)
def served_index(sample_index_dir, embedder, tmp_path_factory):
    """A private copy of the sample index, writes enabled, with the session's model."""
    folder = tmp_path_factory.mktemp("schemathesis") / "index"
    shutil.copytree(sample_index_dir, folder, ignore=shutil.ignore_patterns("*.lock"))
    config = ServiceSettings(index_dir=folder, api_token=API_TOKEN)
    engine = LocalEngine(config, encoder=embedder)
    APP.state.settings, APP.state.engine = config, engine
    generation = engine.index.generation
    yield engine
    engine.index.refresh()
    assert engine.index.generation > generation, "the fuzzer never got a write through"
    assert engine.index.check() == []  # after all the fuzzing, the index is still consistent
    engine.index.close()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case):
    case.call_and_validate(checks=CHECKS)
