"""An app over the tiny artifacts, started the way a server starts it (lifespan included)."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from app.settings import Settings


def wait_ready(client: TestClient, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "app did not become ready"
        time.sleep(0.01)


def make_client(weights: Path, **overrides: object) -> TestClient:
    return TestClient(create_app(Settings(weights=weights, **overrides)))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client(weights_dir: Path) -> Iterator[TestClient]:
    with make_client(weights_dir) as test_client:
        wait_ready(test_client)
        yield test_client


def digit_png(
    size: tuple[int, int] = (28, 28), mode: str = "L", dark_on_light: bool = False
) -> bytes:
    """A synthetic '1': a vertical bar in the middle, as PNG bytes."""
    width, height = size
    canvas = np.zeros((height, width), dtype=np.uint8)
    canvas[
        height // 5 : height - height // 5,
        width // 2 - max(1, width // 14) : width // 2 + max(1, width // 14),
    ] = 255
    if dark_on_light:
        canvas = 255 - canvas
    out = io.BytesIO()
    Image.fromarray(canvas).convert(mode).save(out, format="PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def decode_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return image
