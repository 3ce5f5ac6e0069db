"""The artifacts in weights/ follow the contract and carry their evaluation."""

from pathlib import Path

import pytest
import torch

from model.export import load_artifact

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
SHIPPED = ["mnist-bernoulli", "mnist-gaussian"]

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_artifact_metadata_and_shapes(name: str) -> None:
    path = WEIGHTS / f"{name}.pt"
    assert path.stat().st_size < 20 * 1024 * 1024
    module, metadata = load_artifact(path)
    assert metadata["name"] == name
    assert metadata["dataset"] == {"name": "mnist", "split": "train-5k", "size": 5000}
    metrics = metadata["metrics"]
    assert metrics["split"] == "val-5k"
    assert metrics["k"] == 1000
    assert metrics["images"] == 5000
    assert metrics["nll"] <= metrics["neg_elbo"]
    assert ("bits_per_dim" in metrics) == (metadata["likelihood"] == "gaussian")
    assert {"frechet_distance", "mnist_score", "class_sampling_agreement"} <= set(metrics)
    assert metadata["training"]["command"].startswith("python -m model.train")
    assert sorted(metadata["class_latents"]) == [str(d) for d in range(10)]
    latent_dim = metadata["latent_dim"]
    with torch.no_grad():
        mean, logvar = module.encode(torch.rand(3, 1, 28, 28))
        images = module.decode(mean)
        log_lik = module.log_likelihood(torch.rand(3, 1, 28, 28).round(), mean)
    assert mean.shape == logvar.shape == (3, latent_dim)
    assert images.shape == (3, 1, 28, 28)
    assert log_lik.shape == (3,)
