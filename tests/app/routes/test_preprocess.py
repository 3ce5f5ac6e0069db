"""?preprocess= on the image routes: MNIST-style by default for pictures of another size."""

import io

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from tests.app.conftest import decode_png

RAW_PNG = {"Content-Type": "image/png"}


def corner_stroke_png() -> bytes:
    """A dark stroke in the top-left corner of light 200×160 paper."""
    paper = np.full((160, 200), 230, dtype=np.uint8)
    paper[10:50, 10:16] = 30
    out = io.BytesIO()
    Image.fromarray(paper).save(out, format="PNG")
    return out.getvalue()


def reconstruct(client: TestClient, query: str) -> Image.Image:
    response = client.post(f"/reconstruct?{query}", content=corner_stroke_png(), headers=RAW_PNG)
    assert response.status_code == 200, response.text
    return decode_png(response.content)


def test_default_and_mnist_agree_and_differ_from_none(client: TestClient) -> None:
    default = client.post(
        "/encode", content=corner_stroke_png(), headers={"Content-Type": "image/png"}
    ).json()["mean"]
    mnist = client.post(
        "/encode?preprocess=mnist",
        content=corner_stroke_png(),
        headers={"Content-Type": "image/png"},
    ).json()["mean"]
    none = client.post(
        "/encode?preprocess=none",
        content=corner_stroke_png(),
        headers={"Content-Type": "image/png"},
    ).json()["mean"]
    assert default == mnist
    assert none != mnist
    assert reconstruct(client, "preprocess=none").size == (28, 28)


def test_an_unknown_preprocess_is_a_422_naming_the_choices(client: TestClient) -> None:
    response = client.post(
        "/score?preprocess=fancy",
        content=corner_stroke_png(),
        headers={"Content-Type": "image/png"},
    )
    assert response.status_code == 422
    assert "mnist" in response.json()["detail"]
    assert "none" in response.json()["detail"]
