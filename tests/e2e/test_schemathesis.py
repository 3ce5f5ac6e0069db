"""The live schema is valid OpenAPI, and schemathesis (every check, positive and negative data,
all phases) finds nothing: the schema and the server agree.

Runs the `schemathesis` CLI exactly as a user would, with the repository's schemathesis.toml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from tests.e2e.conftest import REPO, Server, running
from tests.utils.artifacts import tiny_metadata, tiny_vae, write_raw

LIMITS = {
    "VAE_MAX_N": "8",
    "VAE_MAX_STEPS": "8",
    "VAE_MAX_SCORE_K": "16",
    "VAE_MAX_IMAGES": "4",
    "VAE_MAX_LATENTS": "16",
    "VAE_MAX_SCALE": "4",
}
KEY = "test-key"


@pytest.fixture(scope="module")
def two_latent_sizes(weights_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny models (D = 4) and one with D = 6, as the shipped folder mixes 32, 64 and 128:
    the schema can only give latents a range of lengths, the chosen model takes one."""
    folder = tmp_path_factory.mktemp("two-sizes")
    for artifact in weights_dir.glob("*.pt"):
        shutil.copy(artifact, folder / artifact.name)
    write_raw(tiny_vae(latent_dim=6), tiny_metadata("tiny-wide", latent_dim=6), folder / "w.pt")
    return folder


@pytest.fixture(scope="module", params=["open", "with-api-key", "two-latent-sizes"])
def live(
    request: pytest.FixtureRequest, weights_dir: Path, two_latent_sizes: Path
) -> Iterator[Server]:
    extra = {"VAE_API_KEY": KEY} if request.param == "with-api-key" else {}
    folder = two_latent_sizes if request.param == "two-latent-sizes" else weights_dir
    with running(folder, **LIMITS, **extra) as server:
        yield server


def test_the_schema_is_valid_openapi(live: Server) -> None:
    headers = {"X-API-Key": KEY}
    validate(httpx.get(f"{live.url}/openapi.json", headers=headers, timeout=10).json())


def test_schemathesis_finds_no_failures(live: Server, request: pytest.FixtureRequest) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    # The open server gets the most examples; the variants re-check what they change (the key,
    # the latent lengths) with fewer, to keep the suite short.
    examples = "25" if request.node.callspec.params["live"] == "open" else "10"
    result = subprocess.run(
        [str(schemathesis), "--config-file", str(REPO / "schemathesis.toml"), "run",
         f"{live.url}/openapi.json", "-n", examples, "--checks", "all", "--mode", "all",
         "--no-color", "--seed", "1", "-H", f"X-API-Key: {KEY}"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    report = result.stdout[-6000:]
    assert result.returncode == 0, report
    assert "No issues found" in report, report
