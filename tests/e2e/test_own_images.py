"""The README's walkthrough: images in a folder → vae-train --export → vae-serve → requests."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from model.demo_images import draw_shape, write_demo_folder
from tests.e2e.conftest import REPO, running

TINY = ["--latent-dim", "4", "--channels", "4", "--hidden", "16", "--kl-warmup-epochs", "1",
        "--prior-candidates", "1,2", "--eval-samples", "300", "--eval-k", "2"]  # fmt: skip


def test_train_on_a_folder_then_serve_it(tmp_path: Path) -> None:
    data = write_demo_folder(tmp_path / "shapes", train_per_class=24, val_per_class=8)
    weights = tmp_path / "weights"
    trained = subprocess.run(
        [sys.executable, "-m", "model.train", *TINY, "--data-dir", str(data),
         "--train-split", "train", "--val-split", "val", "--epochs", "2", "--name", "shapes",
         "--out-dir", str(tmp_path / "run"), "--export", str(weights / "shapes.pt")],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]

    with running(weights, cli=True) as server:
        listing = httpx.get(f"{server.url}/models/shapes", timeout=10).json()
        assert listing["dataset"]["name"] == "shapes"
        assert listing["dataset"]["size"] == 72
        assert sorted(listing["sample_priors"]) == ["fitted", "standard"]

        ring = io.BytesIO()
        draw_shape("ring", np.random.default_rng(7)).save(ring, format="PNG")
        reconstruction = httpx.post(
            f"{server.url}/reconstruct",
            content=ring.getvalue(),
            headers={"Content-Type": "image/png"},
            timeout=30,
        )
        assert reconstruction.status_code == 200, reconstruction.text
        assert Image.open(io.BytesIO(reconstruction.content)).size == (28, 28)

        bars = httpx.get(f"{server.url}/sample", params={"n": 4, "digit": 1}, timeout=30)
        assert bars.status_code == 200, bars.text
        assert bars.headers["X-Prior"] == "class"
        assert Image.open(io.BytesIO(bars.content)).size == (56, 56)
