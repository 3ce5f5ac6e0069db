"""The artifacts in weights/ follow the contract (format 2) and carry their evaluation."""

from pathlib import Path

import pytest
import torch

from contract.artifact import load_artifact

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
SHIPPED = ["mnist-bernoulli", "mnist-gaussian"]

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_artifact_metadata_priors_and_shapes(name: str) -> None:
    path = WEIGHTS / f"{name}.pt"
    assert path.stat().st_size < 20 * 1024 * 1024
    artifact = load_artifact(path)
    module, metadata = artifact.module, artifact.metadata.as_json()
    assert metadata["format_version"] == 2
    assert metadata["name"] == name
    assert metadata["dataset"] == {"name": "mnist", "split": "train-5k", "size": 5000}
    metrics = metadata["metrics"]
    assert metrics["split"] == "val-5k"
    assert metrics["k"] == 1000
    assert metrics["images"] == 5000
    assert metrics["nll"] <= metrics["neg_elbo"]
    assert ("bits_per_dim" in metrics) == (metadata["likelihood"] == "gaussian")
    # Both priors were judged at both temperatures, and the fitted one is what /sample uses.
    assert set(metrics["priors"]) == {"fitted", "standard"}
    for prior in metrics["priors"].values():
        assert set(prior) == {"T=1.0", "T=0.8"}
    assert artifact.priors.names == ["fitted", "standard"]
    assert artifact.priors.fitted is not None
    assert artifact.priors.fitted.components == metadata["priors"]["fitted"]["components"]
    assert sorted(artifact.priors.classes) == [str(d) for d in range(10)]
    assert set(metrics["class_sampling_agreement"]["per_digit"]) == {str(d) for d in range(10)}
    assert "class_latents" not in metadata
    latent_dim = metadata["latent_dim"]
    with torch.no_grad():
        mean, logvar = module.encode(torch.rand(3, 1, 28, 28))
        images = module.decode(mean)
        log_lik = module.log_likelihood(torch.rand(3, 1, 28, 28).round(), mean)
    assert mean.shape == logvar.shape == (3, latent_dim)
    assert images.shape == (3, 1, 28, 28)
    assert log_lik.shape == (3,)


@pytest.mark.parametrize("name", SHIPPED)
def test_fitted_samples_beat_standard_ones_on_the_recorded_figures(name: str) -> None:
    """What the artifact records about itself: the fitted prior is the better default."""
    metrics = load_artifact(WEIGHTS / f"{name}.pt").metadata.metrics
    fitted, standard = metrics["priors"]["fitted"]["T=1.0"], metrics["priors"]["standard"]["T=1.0"]
    assert fitted["frechet_distance"] < standard["frechet_distance"]
    assert fitted["mnist_score"] > standard["mnist_score"]
    # Not copies: as far from the training digits as held-out digits are, nearly.
    reference = metrics["reference"]["nearest_train_median_val"]
    assert fitted["nearest_train_median"] >= 0.8 * reference
