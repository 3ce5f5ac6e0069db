"""Per-class statistics of the encoder means: metadata `class_latents` (DESIGN.md)."""

from __future__ import annotations

import torch

from model.data import to_unit
from model.objectives import Scorable


@torch.no_grad()
def class_latent_stats(
    model: Scorable, pixels: torch.Tensor, labels: torch.Tensor, batch_size: int = 500
) -> dict[str, dict[str, list[float]]]:
    """For each label, the mean and diagonal variance of μ(x) over that label's images."""
    means = torch.cat(
        [
            model.encode(to_unit(pixels[i : i + batch_size]))[0]
            for i in range(0, len(pixels), batch_size)
        ]
    )  # [N,D]
    stats: dict[str, dict[str, list[float]]] = {}
    for label in sorted(labels.unique().tolist()):
        chosen = means[labels == label]  # [N_c,D]
        stats[str(label)] = {
            "mean": chosen.mean(0).tolist(),
            "var": chosen.var(0, unbiased=len(chosen) > 1).tolist(),
        }
    return stats


def sample_class(
    stats: dict[str, dict[str, list[float]]], label: int, n: int, generator: torch.Generator
) -> torch.Tensor:
    """z ~ N(mean_c, diag var_c): [n,D]. The same rule the service uses for /sample?digit=."""
    mean = torch.tensor(stats[str(label)]["mean"])
    std = torch.tensor(stats[str(label)]["var"]).sqrt()
    return mean + std * torch.randn((n, mean.shape[0]), generator=generator)
