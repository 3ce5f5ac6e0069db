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


def sample_pictures(url: str, model: str, **params: object) -> np.ndarray:
    """64 samples (seed 0) as float [N,H,W(,C)] in [0, 1], decoded from the JSON's PNGs."""
    body = httpx.get(
        f"{url}/sample.json", timeout=120, params={"n": 64, "seed": 0, "model": model, **params}
    ).json()
    return np.stack(
        [
            np.asarray(Image.open(io.BytesIO(base64.b64decode(p))), dtype=np.float64) / 255
            for p in body["images"]
        ]
    )


def test_samples_look_like_mnist(mnist_dir: Path) -> None:
    real, _ = load_split(mnist_dir, "val-5k")
    real_mean, real_ink = ink_statistics(real[:, 0].numpy() / 255.0)
    with running(WEIGHTS) as live:
        models = httpx.get(f"{live.url}/models", timeout=10).json()["models"]
        names = sorted(m["name"] for m in models)
        assert names == ["emoji-gaussian", "mnist-bernoulli", "mnist-gaussian"]
        assert httpx.get(f"{live.url}/models", timeout=10).json()["default"] == "mnist-bernoulli"
        for name in ("mnist-bernoulli", "mnist-gaussian"):
            mean, ink = ink_statistics(sample_pictures(live.url, name))
            # Decoder means are a little blurrier than real digits: allow a generous band.
            assert 0.6 * real_mean < mean < 1.4 * real_mean, (name, mean, real_mean)
            assert 0.5 * real_ink < ink < 1.5 * real_ink, (name, ink, real_ink)


def test_emoji_samples_are_colour_pictures_like_the_val_emoji() -> None:
    val = Path(__file__).resolve().parents[3] / "shared" / "data" / "emoji-64" / "val"
    if not val.is_dir():
        pytest.skip(f"emoji-64 not found at {val}")
    with running(WEIGHTS) as live:
        pictures = sample_pictures(live.url, "emoji-gaussian")  # [64,64,64,3]
        smileys = sample_pictures(live.url, "emoji-gaussian", label="smileys-emotion")
    assert pictures.shape == (64, 64, 64, 3)
    # Colour, not grey copied thrice: channels differ by more than a few levels on average.
    spread = (pictures.max(axis=3) - pictures.min(axis=3)).mean()
    assert spread > 0.08, spread
    # White corners, like the emoji over the white background; a coloured middle.
    assert pictures[:, :4, :4].mean() > 0.85
    assert pictures[:, 24:40, 24:40].mean() < 0.85
    # Smileys are yellow faces: more red and green than blue in the middle.
    middle = smileys[:, 20:44, 20:44].reshape(-1, 3).mean(axis=0)
    assert middle[0] > middle[2] + 0.1, middle
    assert middle[1] > middle[2] + 0.05, middle
