"""Schemathesis fuzzes every operation of /api/v1/openapi.json: no 500, no traceback in any answer."""

from __future__ import annotations

import pytest
import schemathesis
import schemathesis.specs.openapi._hypothesis  # noqa: F401
import schemathesis.specs.openapi.schemas  # noqa: F401
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from server_client import earlier_garbage_collected, logged_run, make_app  # noqa: F401 (a fixture)

pytestmark = pytest.mark.unit

# The schemathesis modules above load at collection, not lazily inside the test: pytest rewrites the asserts of a
# plugin's modules as they load, and late in a full run CPython 3.11.7's ast.parse failed there with "AST constructor
# recursion depth mismatch" (a CPython bug), with the oldest pinned schemathesis.

EXAMPLES = 8  # per operation and mode: a few seconds for all of them


def test_no_operation_fails_on_any_input(tmp_path):
    root = str(tmp_path / "store")
    logged_run(root, steps=5)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", make_app(root))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30

    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]  # valid and invalid input
    for operation, mode in [(op, m) for op in operations for m in modes]:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def fuzz(case):
            response = case.call()
            assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:300])
            assert "Traceback" not in response.text

        try:
            fuzz()
        except Unsatisfiable:
            assert mode == schemathesis.GenerationMode.NEGATIVE  # nothing to get wrong: an operation without inputs

