"""Colour end to end: an RGBA folder → vae-train --export → a real vae-serve → RGB answers."""

from __future__ import annotations

import base64
import io
import subprocess
import sys

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import REPO, Server, running
from tests.utils.colour_images import draw_picture, write_colour_folder

TINY = ["--latent-dim", "4", "--channels", "4", "--hidden", "16", "--kl-warmup-epochs", "1",
        "--prior-candidates", "1,2", "--eval-samples", "200", "--eval-k", "2",
        "--class-components", "1", "--variance-warmup-epochs", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def colour_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A 3×32×32 Gaussian model trained for 3 epochs on two labels, served by vae-serve."""
    root = tmp_path_factory.mktemp("colour")
    data = write_colour_folder(root / "shapes")
    weights = root / "weights"
    trained = subprocess.run(
        [sys.executable, "-m", "model.train", *TINY, "--likelihood", "gaussian",
         "--decoder-variance", "edge-floor", "--data-dir", str(data), "--train-split", "train",
         "--val-split", "val", "--epochs", "3", "--name", "colour", "--background", "#102030",
         "--credits", "Shapes by the test, CC0", "--credits", "Second credit",
         "--out-dir", str(root / "run"), "--classifier-dir", str(root / "classifiers"),
         "--export", str(weights / "colour.pt")],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    with running(weights, cli=True) as server:
        yield server


def rgba_png(label: str = "suns") -> bytes:
    out = io.BytesIO()
    draw_picture(label, np.random.default_rng(3)).save(out, format="PNG")
    return out.getvalue()


def test_the_model_describes_itself_as_colour(colour_server: Server) -> None:
    summary = httpx.get(f"{colour_server.url}/models", timeout=10).json()["models"][0]
    assert summary["image_shape"] == [3, 32, 32]
    assert summary["labels"] == ["leaves", "suns"]
    assert summary["digits"] == []
    assert summary["background"] == [16, 32, 48]
    assert summary["dataset"]["labels"] == {"leaves": 24, "suns": 24}
    assert summary["credits"] == ["Shapes by the test, CC0", "Second credit"]
    detail = httpx.get(f"{colour_server.url}/models/colour", timeout=10).json()
    assert detail["decoder_variance"] == "edge-floor"
    assert detail["format_version"] == 3


def test_sample_is_an_rgb_png(colour_server: Server) -> None:
    response = httpx.get(f"{colour_server.url}/sample", params={"n": 4, "seed": 1}, timeout=30)
    assert response.status_code == 200, response.text
    picture = Image.open(io.BytesIO(response.content))
    assert picture.mode == "RGB"
    assert picture.size == (64, 64)  # a 2×2 grid of 32×32


def test_label_draws_from_that_class(colour_server: Server) -> None:
    response = httpx.get(
        f"{colour_server.url}/sample.json", params={"label": "suns", "n": 2, "seed": 5}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.json()["prior"] == "class"
    body = httpx.post(
        f"{colour_server.url}/sample", json={"label": "leaves", "seed": 5}, timeout=30
    )
    assert body.status_code == 200, body.text
    assert body.headers["X-Prior"] == "class"


def test_encode_and_reconstruct_an_rgba_upload(colour_server: Server) -> None:
    headers = {"Content-Type": "image/png"}
    encoded = httpx.post(
        f"{colour_server.url}/encode", content=rgba_png(), headers=headers, timeout=30
    )
    assert encoded.status_code == 200, encoded.text
    assert len(encoded.json()["mean"][0]) == 4
    reconstruction = httpx.post(
        f"{colour_server.url}/reconstruct.json", content=rgba_png(), headers=headers, timeout=30
    )
    assert reconstruction.status_code == 200, reconstruction.text
    png = reconstruction.json()["images"][0]
    picture = Image.open(io.BytesIO(base64.b64decode(png)))
    assert (picture.mode, picture.size) == ("RGB", (32, 32))


def test_score_reports_a_percentile(colour_server: Server) -> None:
    response = httpx.post(
        f"{colour_server.url}/score",
        params={"k": 4, "seed": 0},
        content=rgba_png("leaves"),
        headers={"Content-Type": "image/png"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    (percentile,) = response.json()["percentile"]
    assert 0.0 <= percentile <= 100.0


@pytest.mark.parametrize(
    ("method", "path", "params", "needle"),
    [
        ("GET", "/sample", {"label": "clouds"}, "its labels are: leaves, suns"),
        ("GET", "/sample", {"label": "suns", "digit": 1}, "not both"),
        ("POST", "/encode", {"preprocess": "mnist"}, "takes preprocess= fit, none"),
        ("POST", "/encode", {"invert": "true"}, "auto only"),
        ("GET", "/sample", {"n": 64, "scale": 16}, "VAE_MAX_OUTPUT_VALUES"),
    ],
)
def test_bad_choices_are_422_naming_the_choices(
    colour_server: Server, method: str, path: str, params: dict[str, object], needle: str
) -> None:
    response = httpx.request(
        method,
        f"{colour_server.url}{path}",
        params=params,  # type: ignore[arg-type]
        content=rgba_png() if method == "POST" else None,
        headers={"Content-Type": "image/png"} if method == "POST" else None,
        timeout=30,
    )
    assert response.status_code == 422, response.text
    assert needle in response.json()["detail"]
