"""Shared fixtures: a tiny VAE exported to a temp dir, so most tests never touch weights/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from model.config import ModelConfig
from model.export import save_artifact, utc_now
from model.networks import VAE

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data" / "mnist"
TINY_LATENT_DIM = 4


def tiny_vae(likelihood: str = "bernoulli", seed: int = 0) -> VAE:
    """A deterministic, untrained 4-d VAE: milliseconds per call."""
    torch.manual_seed(seed)
    config = ModelConfig(likelihood=likelihood, latent_dim=TINY_LATENT_DIM, channels=4, hidden=16)  # type: ignore[arg-type]
    return VAE(config).eval()


def tiny_metadata(name: str, likelihood: str = "bernoulli", **extra: Any) -> dict[str, Any]:
    transform = "binarize" if likelihood == "bernoulli" else "dequantize"
    generator = torch.Generator().manual_seed(1)
    class_latents = {
        str(digit): {
            "mean": torch.randn(TINY_LATENT_DIM, generator=generator).tolist(),
            "var": torch.rand(TINY_LATENT_DIM, generator=generator).tolist(),
        }
        for digit in range(10)
    }
    return {
        "name": name,
        "description": "tiny test model",
        "image_shape": [1, 28, 28],
        "latent_dim": TINY_LATENT_DIM,
        "likelihood": likelihood,
        "input_transform": transform,
        "dataset": {"name": "none", "split": "none", "size": 0},
        "metrics": {"k": 1},
        "training": {
            "command": "tests",
            "epochs": 0,
            "seconds": 0,
            "seed": 0,
            "device": "cpu",
            "code_version": "test",
        },
        "created": utc_now(),
        "torch_version": torch.__version__,
        "class_latents": class_latents,
        **extra,
    }


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with two tiny artifacts: `tiny` (Bernoulli) and `tiny-gauss` (Gaussian)."""
    folder = tmp_path_factory.mktemp("weights")
    save_artifact(tiny_vae("bernoulli"), tiny_metadata("tiny"), folder / "tiny.pt")
    save_artifact(
        tiny_vae("gaussian", seed=1),
        tiny_metadata("tiny-gauss", "gaussian"),
        folder / "tiny-gauss.pt",
    )
    return folder


@pytest.fixture(scope="session")
def tiny_artifact(weights_dir: Path) -> Path:
    return weights_dir / "tiny.pt"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"MNIST IDX files not found at {DATA_DIR}")
    return DATA_DIR


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`gpu` tests skip cleanly on machines without CUDA (CI has none)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
