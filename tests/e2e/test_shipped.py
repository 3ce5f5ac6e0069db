"""The shipped weights behind a real server draw digit-like images."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from model.data import load_split
from tests.e2e.conftest import running

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"

pytestmark = pytest.mark.slow


def ink_statistics(images: np.ndarray) -> tuple[float, float]:
    """Mean intensity and the fraction of pixels above half brightness, over [N,H,W] in [0,1]."""
    return float(images.mean()), float((images > 0.5).mean())


def test_samples_look_like_mnist(mnist_dir: Path) -> None:
    real, _ = load_split(mnist_dir, "val-5k")
    real_mean, real_ink = ink_statistics(real[:, 0].numpy() / 255.0)
    with running(WEIGHTS) as live:
        models = httpx.get(f"{live.url}/models", timeout=10).json()["models"]
        assert sorted(m["name"] for m in models) == ["mnist-bernoulli", "mnist-gaussian"]
        for model in models:
            body = httpx.get(
                f"{live.url}/sample",
                timeout=60,
                params={"n": 64, "seed": 0, "format": "json", "model": model["name"]},
            ).json()
            pictures = np.stack(
                [
                    np.asarray(Image.open(io.BytesIO(base64.b64decode(p))), dtype=np.float64) / 255
                    for p in body["images"]
                ]
            )
            mean, ink = ink_statistics(pictures)
            # Decoder means are a little blurrier than real digits: allow a generous band.
            assert 0.6 * real_mean < mean < 1.4 * real_mean, (model["name"], mean, real_mean)
            assert 0.5 * real_ink < ink < 1.5 * real_ink, (model["name"], ink, real_ink)
