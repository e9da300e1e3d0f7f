"""Schemathesis fuzzes every operation of /api/v1/openapi.json: no 500, no traceback in any answer."""

from __future__ import annotations

import pytest

from server_client import logged_run, make_app

pytestmark = pytest.mark.unit

EXAMPLES = 8  # per operation and mode: a few seconds for all of them


def test_no_operation_fails_on_any_input(tmp_path):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable

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

