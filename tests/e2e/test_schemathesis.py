"""Property-based API testing against the live OpenAPI schema of a real uvicorn server.

Schemathesis's pytest integration does not run on pytest 9, so each operation's Hypothesis
strategy is driven directly; the checks are schemathesis's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Server, running

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def live(weights_dir: Path) -> Iterator[Server]:
    with running(
        weights_dir,
        VAE_MAX_N="8",
        VAE_MAX_STEPS="8",
        VAE_MAX_SCORE_K="16",
        VAE_MAX_IMAGES="4",
        VAE_MAX_LATENTS="16",
        VAE_MAX_SCALE="4",
    ) as server:
        yield server


def operations(live: Server) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_has_no_server_errors_and_no_schema_violations(live: Server) -> None:
    calls: dict[str, int] = {}
    found = operations(live)
    assert len(found) >= 12  # every route of the API is in the schema

    for operation in found:
        label = f"{operation.method.upper()} {operation.path}"
        calls[label] = 0

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def exercise(case: Any) -> None:
            calls[label] += 1  # noqa: B023 - runs inside this iteration only
            case.call_and_validate(base_url=live.url, checks=CHECKS, timeout=30)

        exercise()
    assert all(count > 0 for count in calls.values()), calls
    print(f"schemathesis: {sum(calls.values())} calls over {len(calls)} operations: {calls}")  # noqa: T201
