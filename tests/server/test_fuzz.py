"""Property-based fuzzing of every operation in the OpenAPI spec (schemathesis): no input may cause
a server error, and every answer must match what the spec documents (status, media type, schema).

Bounded (a fixed number of examples per operation, no example database) so it runs in seconds.
Skipped check: "schema-valid data is accepted". The spec cannot say that `z` needs exactly
latent_dim numbers or that `steps` has a configurable cap, so valid-looking strings are rightly
refused with a 422.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from api_checks import save_tiny_models, tiny_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from server.app import create_app

EXAMPLES = 25

# schemathesis needs the schema when tests are collected, before fixtures exist (its `from_fixture`
# fails on this pytest), so the tiny models are written here, and removed when pytest exits.
WEIGHTS = save_tiny_models(Path(tempfile.mkdtemp(prefix="fuzz-weights-")))
atexit.register(shutil.rmtree, WEIGHTS, ignore_errors=True)
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(tiny_settings(WEIGHTS)))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_input_causes_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
