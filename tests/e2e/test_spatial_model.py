"""A tiny model with a grid latent, end to end: vae-train writes a checkpoint, vae-export turns it
into an artifact (twice: it only reads the checkpoint), and a real server serves it with flat
latents while /models shows the grid."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import torch
from PIL import Image

from contract.artifact import load_artifact
from model.export.command import main as export
from model.train import main as train
from tests.e2e.conftest import running

TINY_GRID = [
    "--latent-shape",
    "2x7x7",
    "--channels",
    "4",
    "--res-blocks",
    "1",
    "--limit",
    "256",
    "--batch-size",
    "64",
    "--epochs",
    "1",
    "--prior-candidates",
    "1,2",
    "--prior-sources",
    "means",
    "--eval-samples",
    "200",
]


def test_a_grid_latent_model_trains_exports_and_serves(
    tmp_path: Path, mnist_dir: Path, classifier_dir: Path
) -> None:
    run = tmp_path / "run"
    train(
        [*TINY_GRID, "--likelihood", "gaussian", "--name", "grid", "--data-dir", str(mnist_dir)]
        + ["--out-dir", str(run)]
    )
    weights = tmp_path / "weights"
    common = ["--eval-k", "2", "--classifier-dir", str(classifier_dir), "--device", "cpu"]
    export([str(run / "last.pt"), "--output", str(weights / "grid.pt"), *common])
    first = (weights / "grid.pt").read_bytes()
    export([str(run / "last.pt"), "--output", str(weights / "grid.pt"), *common])  # again
    artifact = load_artifact(weights / "grid.pt")
    assert artifact.metadata.latent_shape == (2, 7, 7)
    assert artifact.metadata.latent_dim == 98
    assert artifact.metadata.training["command"].startswith("vae-export ")
    assert len(first) > 0
    with torch.no_grad():
        assert artifact.module.decode(torch.zeros(3, 98)).shape == (3, 1, 28, 28)
    with running(weights) as live:
        listing = httpx.get(f"{live.url}/models", timeout=30).json()["models"][0]
        assert listing["latent_shape"] == [2, 7, 7]
        assert listing["latent_dim"] == 98
        sample = httpx.get(f"{live.url}/sample.json?n=2&seed=3", timeout=30).json()
        assert [len(z) for z in sample["latents"]] == [98, 98]
        decoded = httpx.post(
            f"{live.url}/decode", json={"latents": sample["latents"]}, timeout=30
        )
        assert decoded.status_code == 200
        assert Image.open(io.BytesIO(decoded.content)).size == (56, 28)  # a 2-picture grid
