"""Shared fixtures: tiny VAEs exported to a temp dir, so most tests never touch weights/."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from contract.artifact import save_artifact
from tests.utils.artifacts import (
    class_latents_v1,
    prior_metadata,
    tiny_metadata,
    tiny_priors,
    tiny_vae,
    write_raw,
)

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny artifacts: `tiny` (Bernoulli, format 2 with fitted and class priors) and
    `tiny-gauss` (Gaussian, format 1 with the diagonal class_latents of that format)."""
    folder = tmp_path_factory.mktemp("weights")
    priors = tiny_priors()
    save_artifact(
        tiny_vae("bernoulli"),
        tiny_metadata(
            "tiny",
            priors=prior_metadata(priors),
            metrics={
                "k": 1,
                "split": "val",
                "nll": 90.0,
                "priors": {"fitted": {"T=1.0": {"frechet_distance": 27.4, "mnist_score": 9.1}}},
                "reference": {"frechet_distance_train_vs_val": 25.8},
            },
        ),
        folder / "tiny.pt",
        priors,
    )
    write_raw(
        tiny_vae("gaussian", seed=1),
        tiny_metadata("tiny-gauss", "gaussian", class_latents=class_latents_v1()),
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


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Path:
    """A classifier cache holding MNIST train-5k's classifier, trained for one epoch (seconds):
    enough to run the sample metrics."""
    from model.data import read_labelled
    from model.evaluation.judging import classifier_for

    folder = tmp_path_factory.mktemp("classifiers")
    classifier_for(read_labelled(mnist_dir, "train-5k"), folder, epochs=1)
    return folder


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`gpu` tests skip cleanly on machines without CUDA (CI has none)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
