"""A colour model on every route: RGB out, RGBA and grey in, labels, percentiles, the budget."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.app.conftest import b64, decode_png, digit_png, make_client, wait_ready
from tests.utils.artifacts import save_tiny_colour

RAW = {"Content-Type": "image/png"}


@pytest.fixture(scope="module")
def colour(tmp_path_factory: pytest.TempPathFactory, weights_dir: Path) -> Iterator[TestClient]:
    """The tiny MNIST pair plus a tiny colour model, one server."""
    folder = tmp_path_factory.mktemp("colour-weights")
    for artifact in weights_dir.glob("*.pt"):
        (folder / artifact.name).write_bytes(artifact.read_bytes())
    save_tiny_colour(folder)
    with make_client(folder, default_model="tiny") as client:
        wait_ready(client)
        yield client


def png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def encode(client: TestClient, data: bytes) -> list[float]:
    response = client.post("/encode?model=tiny-colour", content=data, headers=RAW)
    assert response.status_code == 200, response.text
    mean: list[float] = response.json()["mean"][0]
    return mean


def test_samples_grids_and_strips_are_rgb(colour: TestClient) -> None:
    grid = decode_png(colour.get("/sample?model=tiny-colour&n=4&seed=1").content)
    assert (grid.mode, grid.size) == ("RGB", (32, 32))
    body = colour.post(
        "/interpolate?model=tiny-colour",
        json={"latents": [[0.0] * 4, [1.0] * 4], "steps": 3},
    )
    strip = decode_png(body.content)
    assert (strip.mode, strip.size) == ("RGB", (48, 16))


def test_json_pixels_are_rgb_pngs(colour: TestClient) -> None:
    body = colour.get("/sample.json?model=tiny-colour&n=2&seed=1").json()
    tile = Image.open(io.BytesIO(base64.b64decode(body["images"][0])))
    assert (tile.mode, tile.size) == ("RGB", (16, 16))


def test_transparency_becomes_the_models_background(colour: TestClient) -> None:
    clear = png(Image.new("RGBA", (16, 16), (0, 0, 0, 0)))
    background = png(Image.new("RGB", (16, 16), (200, 220, 255)))
    assert encode(colour, clear) == encode(colour, background)


def test_a_grey_upload_is_copied_into_three_channels(colour: TestClient) -> None:
    grey = Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16))
    assert encode(colour, png(grey)) == encode(colour, png(grey.convert("RGB")))


def test_a_larger_picture_is_fitted_with_background_padding(colour: TestClient) -> None:
    wide = Image.new("RGB", (64, 32), (255, 0, 0))
    fitted = Image.new("RGB", (16, 16), (200, 220, 255))
    fitted.paste(Image.new("RGB", (16, 8), (255, 0, 0)), (0, 4))
    assert encode(colour, png(wide)) == pytest.approx(encode(colour, png(fitted)), abs=1e-5)


def test_label_and_digit_draw_the_same_class(colour: TestClient) -> None:
    by_digit = colour.get("/sample?digit=3&seed=7&n=2").content
    by_label = colour.get("/sample?label=3&seed=7&n=2").content
    assert by_digit == by_label
    suns = colour.get("/sample.json?model=tiny-colour&label=suns&seed=7").json()
    leaves = colour.get("/sample.json?model=tiny-colour&label=leaves&seed=7").json()
    assert suns["prior"] == leaves["prior"] == "class"
    assert suns["latents"] != leaves["latents"]


def test_models_list_labels_background_and_credits(colour: TestClient) -> None:
    models = {m["name"]: m for m in colour.get("/models").json()["models"]}
    assert models["tiny-colour"]["labels"] == ["leaves", "suns"]
    assert models["tiny-colour"]["background"] == [200, 220, 255]
    assert models["tiny-colour"]["credits"] == ["Test pictures by the test suite"]
    assert models["tiny"]["labels"] == [str(d) for d in range(10)]
    assert models["tiny"]["digits"] == models["tiny"]["labels"]


def test_score_percentile_reads_the_stored_quantiles(colour: TestClient) -> None:
    body = colour.post("/score?model=tiny-colour&k=2&seed=0", content=digit_png(), headers=RAW)
    assert body.status_code == 200, body.text
    nll, percentile = body.json()["nll"][0], body.json()["percentile"][0]
    # The tiny artifact's quantiles are 0, 1, …, 100 nats: percentile = nll, clipped to 0–100.
    assert percentile == pytest.approx(min(100.0, max(0.0, nll)), abs=0.01)
    old = colour.post("/score?k=2", json={"images": [b64(digit_png())]}).json()
    assert old["percentile"] is None  # a format-2 artifact has no val quantiles


def test_the_output_budget_is_a_422_naming_its_setting(colour: TestClient) -> None:
    too_big = colour.get("/sample?n=64&scale=16")  # 64 × 448 × 448 = 12.8 M values
    assert too_big.status_code == 422
    assert "VAE_MAX_OUTPUT_VALUES" in too_big.json()["detail"]
    assert colour.get("/sample?n=64&scale=4").status_code == 200  # 0.8 M values
    strip = colour.post(
        "/decode.json?scale=16&model=tiny-colour", json={"latents": [[0.0] * 4] * 64}
    )
    assert strip.status_code == 422
