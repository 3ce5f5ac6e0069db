"""The artifacts in weights/ follow the contract and carry their evaluation."""

from pathlib import Path
from typing import Any

import pytest
import torch

from contract.artifact import load_artifact

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
DIGITS = [str(d) for d in range(10)]
EMOJI_CLASSES = sorted(
    ["smileys-emotion", "people-body", "animals-nature", "food-drink", "travel-places",
     "activities", "objects", "symbols", "flags"]
)  # fmt: skip
# name → what its metadata must say: format, image shape, data, val split and k, classes.
SHIPPED: dict[str, dict[str, Any]] = {
    # Trained in format 2; its val quantiles were added by vae-evaluate --store-reference.
    "mnist-bernoulli": {
        "format": 3, "shape": [1, 28, 28], "dataset": ("mnist", "train-5k", 5000),
        "split": "val-5k", "k": 1000, "images": 5000, "classes": DIGITS, "variance": None,
        "grid": None,
    },
    "mnist-gaussian": {
        "format": 3, "shape": [1, 28, 28], "dataset": ("mnist", "train-5k", 5000),
        "split": "val-5k", "k": 100, "images": 5000, "classes": DIGITS, "variance": "pixel",
        "grid": [2, 7, 7],
    },
    "emoji-gaussian": {
        "format": 3, "shape": [3, 64, 64], "dataset": ("emoji-64", "train", 6102),
        "split": "val", "k": 100, "images": 796, "classes": EMOJI_CLASSES,
        "variance": "pixel", "grid": [4, 8, 8],
    },
}  # fmt: skip

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_artifact_metadata_priors_and_shapes(name: str) -> None:
    expected = SHIPPED[name]
    path = WEIGHTS / f"{name}.pt"
    assert path.stat().st_size < 30 * 1024 * 1024
    artifact = load_artifact(path)
    module, metadata = artifact.module, artifact.metadata.as_json()
    assert metadata["format_version"] == expected["format"]
    assert metadata["name"] == name
    assert metadata["image_shape"] == expected["shape"]
    assert metadata.get("latent_shape") == expected["grid"]
    dataset = metadata["dataset"]
    assert (dataset["name"], dataset["split"], dataset["size"]) == expected["dataset"]
    metrics = metadata["metrics"]
    assert metrics["split"] == expected["split"]
    assert metrics["k"] == expected["k"]
    assert metrics["images"] == expected["images"]
    assert metrics["nll"] <= metrics["neg_elbo"]
    assert ("bits_per_dim" in metrics) == (metadata["likelihood"] == "gaussian")
    # Both priors were judged at both temperatures, and the fitted one is what /sample uses.
    assert set(metrics["priors"]) == {"fitted", "standard"}
    for prior in metrics["priors"].values():
        assert set(prior) == {"T=1.0", "T=0.8"}
    assert artifact.priors.names == ["fitted", "standard"]
    assert artifact.priors.fitted is not None
    assert artifact.priors.fitted.components == metadata["priors"]["fitted"]["components"]
    assert sorted(artifact.priors.classes) == expected["classes"]
    assert set(metrics["class_sampling_agreement"]["per_digit"]) == set(expected["classes"])
    assert "class_latents" not in metadata
    if expected["format"] >= 3:
        assert len(metadata["score_reference"]["quantiles"]) == 101
        assert metadata.get("decoder_variance") == expected["variance"]
        assert sorted(dataset.get("labels") or expected["classes"]) == expected["classes"]
    latent_dim = metadata["latent_dim"]
    shape = tuple(expected["shape"])
    with torch.no_grad():
        mean, logvar = module.encode(torch.rand(3, *shape))
        images = module.decode(mean)
        log_lik = module.log_likelihood(torch.rand(3, *shape).round(), mean)
    assert mean.shape == logvar.shape == (3, latent_dim)
    assert images.shape == (3, *shape)
    assert log_lik.shape == (3,)


def test_the_colour_model_credits_its_sources() -> None:
    credits = load_artifact(WEIGHTS / "emoji-gaussian.pt").metadata.credits
    assert "Twemoji by Twitter, Inc. and other contributors, CC-BY 4.0" in credits
    assert "Noto Emoji by Google, Apache License 2.0" in credits


@pytest.mark.parametrize("name", SHIPPED)
def test_fitted_samples_beat_standard_ones_on_the_recorded_figures(name: str) -> None:
    """What the artifact records about itself: the fitted prior is the better default."""
    metrics = load_artifact(WEIGHTS / f"{name}.pt").metadata.metrics
    fitted, standard = metrics["priors"]["fitted"]["T=1.0"], metrics["priors"]["standard"]["T=1.0"]
    assert fitted["frechet_distance"] < standard["frechet_distance"]
    assert fitted["mnist_score"] > standard["mnist_score"]
    # Not copies: as far from the training pictures as held-out pictures are, nearly.
    reference = metrics["reference"]["nearest_train_median_val"]
    assert fitted["nearest_train_median"] >= 0.8 * reference
