"""The live schema is valid OpenAPI, and schemathesis (every check, positive and negative data,
all phases) finds nothing: the schema and the server agree.

Runs the `schemathesis` CLI exactly as a user would, with the repository's schemathesis.toml.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from tests.e2e.conftest import REPO, Server, running

LIMITS = {
    "VAE_MAX_N": "8",
    "VAE_MAX_STEPS": "8",
    "VAE_MAX_SCORE_K": "16",
    "VAE_MAX_IMAGES": "4",
    "VAE_MAX_LATENTS": "16",
    "VAE_MAX_SCALE": "4",
}
KEY = "test-key"


@pytest.fixture(scope="module", params=["open", "with-api-key"])
def live(request: pytest.FixtureRequest, weights_dir: Path) -> Iterator[Server]:
    extra = {"VAE_API_KEY": KEY} if request.param == "with-api-key" else {}
    with running(weights_dir, **LIMITS, **extra) as server:
        yield server


def test_the_schema_is_valid_openapi(live: Server) -> None:
    headers = {"X-API-Key": KEY}
    validate(httpx.get(f"{live.url}/openapi.json", headers=headers, timeout=10).json())


def test_schemathesis_finds_no_failures(live: Server) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [str(schemathesis), "--config-file", str(REPO / "schemathesis.toml"), "run",
         f"{live.url}/openapi.json", "-n", "25", "--checks", "all", "--mode", "all",
         "--no-color", "--seed", "1", "-H", f"X-API-Key: {KEY}"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    report = result.stdout[-6000:]
    assert result.returncode == 0, report
    assert "No issues found" in report, report
