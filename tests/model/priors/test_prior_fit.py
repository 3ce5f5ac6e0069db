"""Fitting priors after training: valid mixtures, per-class tables, and a measured benefit."""

from pathlib import Path

import pytest
import torch

from contract.artifact import load_artifact
from contract.priors import StandardNormal
from model.config import ModelConfig, TrainConfig
from model.data import load_split
from model.distributed import Runtime
from model.priors.choice import _choose
from model.priors.choice import main as fit_prior_main
from model.priors.mixtures import encode_all, fit_mixture, fit_priors
from model.train import train
from tests.utils.artifacts import class_latents_v1, tiny_metadata, write_raw


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path):  # type: ignore[no-untyped-def]
    """A tiny VAE trained for 3 epochs on 512 digits: small, but its codes have structure."""
    config = TrainConfig(
        model=ModelConfig(latent_dim=4, channels=4, hidden=32),
        data_dir=str(mnist_dir),
        limit=512,
        epochs=3,
        kl_warmup_epochs=1,
        out_dir=str(tmp_path_factory.mktemp("run")),
    )
    vae, _ = train(config, Runtime(torch.device("cpu")))
    return vae


def test_fit_mixture_gives_a_valid_float32_mixture() -> None:
    points = torch.cat([torch.randn(300, 3) - 4, torch.randn(300, 3) + 4])
    mixture = fit_mixture(points, 2, seed=0)
    assert mixture.problems(3) == []
    assert mixture.weights.dtype == mixture.cholesky.dtype == torch.float32
    centres = sorted(mixture.means[:, 0].tolist())
    assert centres == pytest.approx([-4, 4], abs=0.3)
    assert float(mixture.weights.sum()) == pytest.approx(1.0, abs=1e-6)


def test_fitted_samples_lie_closer_to_the_training_codes(trained, mnist_dir: Path) -> None:  # type: ignore[no-untyped-def]
    pixels, labels = load_split(mnist_dir, "train-5k")
    codes = encode_all(trained, pixels[::5])
    priors = fit_priors(codes, labels[::5], components=5, class_components=2)
    assert priors.problems() == []
    assert sorted(priors.classes) == [str(d) for d in range(10)]
    generator = torch.Generator().manual_seed(0)
    assert priors.fitted is not None
    fitted = priors.fitted.sample(1000, generator)
    standard = StandardNormal(4).sample(1000, generator)

    def distance_to_codes(z: torch.Tensor) -> float:
        return float(torch.cdist(z, codes.mean).min(1).values.mean())

    assert distance_to_codes(fitted) < distance_to_codes(standard)
    # And the fitted density explains held-out codes better than N(0, I) does.
    val_pixels, _ = load_split(mnist_dir, "val-5k")
    val_codes = encode_all(trained, val_pixels[:500]).mean
    assert float(priors.fitted.log_prob(val_codes).mean()) > float(
        StandardNormal(4).log_prob(val_codes).mean()
    )


def test_the_choice_rule_weighs_novelty_distance_and_score() -> None:
    def row(k: int, fd: float, score: float, novel: bool = True) -> dict[str, object]:
        return {
            "components": k,
            "source": "means",
            "frechet_distance": fd,
            "mnist_score": score,
            "novel": novel,
        }

    table = [row(1, 80, 6), row(10, 30, 8.5), row(20, 28, 8.9), row(50, 10, 9.5, novel=False)]
    assert _choose(table) == (20, "means")  # 50 replays training codes; 20 beats 10 on score
    assert _choose([row(1, 80, 6), row(10, 30, 8.0)]) == (10, "means")


def test_fit_prior_upgrades_a_format_1_artifact(  # type: ignore[no-untyped-def]
    trained, mnist_dir: Path, tmp_path: Path, classifier_dir: Path
) -> None:
    old = write_raw(
        trained,
        tiny_metadata("upgraded", class_latents=class_latents_v1()),
        tmp_path / "old.pt",
    )
    new = tmp_path / "new.pt"
    fit_prior_main(
        [
            str(old),
            "--data-dir",
            str(mnist_dir),
            "--out",
            str(new),
            "--candidates",
            "1,3",
            "--samples",
            "200",
            "--classifier-dir",
            str(classifier_dir),
        ]
    )
    artifact = load_artifact(new)
    assert artifact.metadata.format_version == 3
    assert artifact.metadata.class_latents is None
    assert artifact.priors.names == ["fitted", "standard"]
    table = artifact.metadata.priors["fitted"].model_extra["selection"]["table"]  # type: ignore[index]
    assert {(r["source"], r["components"]) for r in table} == {
        ("means", 1),
        ("means", 3),
        ("draws", 1),
        ("draws", 3),
    }
    metrics = artifact.metadata.metrics
    assert set(metrics["priors"]) == {"fitted", "standard"}
    assert set(metrics["class_sampling_agreement"]["per_digit"]) == {str(d) for d in range(10)}
