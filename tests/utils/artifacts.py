"""Tiny models, metadata and priors for tests: milliseconds per call, no weights/ needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from contract.priors import GaussianMixture, Priors
from model.config import ModelConfig
from model.networks import VAE
from model.provenance import utc_now

TINY_LATENT_DIM = 4


def tiny_vae(
    likelihood: str = "bernoulli", seed: int = 0, latent_dim: int = TINY_LATENT_DIM
) -> VAE:
    """A deterministic, untrained VAE (4-d unless asked)."""
    torch.manual_seed(seed)
    config = ModelConfig(likelihood=likelihood, latent_dim=latent_dim, channels=4, hidden=16)  # type: ignore[arg-type]
    return VAE(config).eval()


def tiny_metadata(
    name: str, likelihood: str = "bernoulli", latent_dim: int = TINY_LATENT_DIM, **extra: Any
) -> dict[str, Any]:
    """Complete metadata for a tiny model, without priors (add them with `tiny_priors`)."""
    transform = "binarize" if likelihood == "bernoulli" else "dequantize"
    return {
        "name": name,
        "description": "tiny test model",
        "image_shape": [1, 28, 28],
        "latent_dim": latent_dim,
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
        **extra,
    }


def class_latents_v1() -> dict[str, dict[str, list[float]]]:
    """Format 1's diagonal per-class statistics."""
    generator = torch.Generator().manual_seed(1)
    return {
        str(digit): {
            "mean": torch.randn(TINY_LATENT_DIM, generator=generator).tolist(),
            "var": torch.rand(TINY_LATENT_DIM, generator=generator).tolist(),
        }
        for digit in range(10)
    }


def random_cholesky(k: int, d: int, generator: torch.Generator, scale: float = 0.5) -> torch.Tensor:
    """K random lower-triangular factors with a positive diagonal: [K,D,D]."""
    raw = torch.randn((k, d, d), generator=generator) * 0.3 * scale
    diagonal = scale * (0.5 + torch.rand((k, d), generator=generator))
    return raw.tril(-1) + torch.diag_embed(diagonal)


def tiny_priors(seed: int = 0) -> Priors:
    """A 3-component fitted prior and, per digit c, 2 components near 4·e_(c mod D)·sign."""
    generator = torch.Generator().manual_seed(seed)
    d = TINY_LATENT_DIM
    fitted = GaussianMixture(
        torch.tensor([0.2, 0.3, 0.5]),
        torch.randn((3, d), generator=generator) * 2,
        random_cholesky(3, d, generator),
    )
    classes = {}
    for digit in range(10):
        centre = torch.zeros(d)
        centre[digit % d] = 4.0 if digit < d else -4.0
        centre[(digit + 1) % d] = 2.0 * (digit // d)
        means = centre + 0.5 * torch.randn((2, d), generator=generator)
        classes[str(digit)] = GaussianMixture(
            torch.tensor([0.4, 0.6]), means, random_cholesky(2, d, generator, 0.3)
        )
    return Priors(d, fitted, classes)


def prior_metadata(priors: Priors) -> dict[str, Any]:
    """The metadata `priors` entry that matches `tiny_priors`."""
    info: dict[str, Any] = {}
    if priors.fitted is not None:
        info["fitted"] = {"components": priors.fitted.components, "fitted_on": "test"}
    if priors.classes:
        info["class"] = {
            "components": 2,
            "fitted_on": "test",
            "labels": sorted(priors.classes),
        }
    return info


def write_raw(
    module: nn.Module, metadata: dict[str, Any] | str, path: Path, **extra_files: bytes
) -> Path:
    """Save with torch.jit directly, bypassing the exporter's own checks (format 1 default)."""
    payload = (
        metadata if isinstance(metadata, str) else json.dumps({"format_version": 1, **metadata})
    )
    files: dict[str, str | bytes] = {"metadata.json": payload, **extra_files}
    torch.jit.save(torch.jit.script(module), str(path), _extra_files=files)
    return path


def save_tiny_colour(folder: Path, name: str = "tiny-colour") -> Path:
    """A 3×16×16 Gaussian artifact with two named classes (`leaves`, `suns`), a light-blue
    background and val quantiles: what the colour routes and the page need, in milliseconds."""
    from contract.artifact import save_artifact

    torch.manual_seed(0)
    config = ModelConfig(
        likelihood="gaussian",
        image_shape=(3, 16, 16),
        latent_dim=TINY_LATENT_DIM,
        channels=4,
        hidden=16,
        decoder_variance="edge-floor",
    )
    priors = tiny_priors()
    classes = {"leaves": priors.classes["0"], "suns": priors.classes["1"]}
    colour_priors = Priors(TINY_LATENT_DIM, priors.fitted, classes)
    metadata = tiny_metadata(
        name,
        "gaussian",
        image_shape=[3, 16, 16],
        background=[200, 220, 255],
        credits=["Test pictures by the test suite"],
        decoder_variance="edge-floor",
        priors=prior_metadata(colour_priors),
        score_reference={"k": 1, "split": "val", "quantiles": [float(q) for q in range(101)]},
    )
    return save_artifact(VAE(config).eval(), metadata, folder / f"{name}.pt", colour_priors)
