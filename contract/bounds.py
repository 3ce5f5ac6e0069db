"""The ELBO's pieces and the importance-weighted bound, for anything with the artifact's methods.

`model` below is any object with `encode(x)` and `log_likelihood(x, z)`: the eager VAE in
training, or a loaded TorchScript artifact in evaluation and in the service. Noise is drawn on
the CPU from the caller's generator, so the same seed gives the same figures on any device.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
from torch import Tensor

from contract.transforms import apply_transform, encoder_input, unit_to_pixels

_LOG_2PI = math.log(2.0 * math.pi)


class Scorable(Protocol):
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]: ...

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor: ...


def kl_to_standard_normal(mean: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, diag σ²) || N(0, I)) = ½ Σ (σ² + μ² − 1 − log σ²): [N] from [N,D]."""
    return 0.5 * (logvar.exp() + mean.pow(2) - 1.0 - logvar).sum(-1)


def gaussian_log_density(z: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; μ, diag σ²), summed over the last dimension."""
    return -0.5 * (_LOG_2PI + logvar + (z - mean).pow(2) * torch.exp(-logvar)).sum(-1)


def reparameterize(mean: Tensor, logvar: Tensor, noise: Tensor) -> Tensor:
    """z = μ + σ ⊙ ε, ε ~ N(0, I): sampling that gradients flow through."""
    return mean + torch.exp(0.5 * logvar) * noise


@torch.no_grad()
def importance_weighted_bound(
    model: Scorable,
    x_encoder: Tensor,
    x_target: Tensor,
    k: int,
    generator: torch.Generator,
    decode_rows: int = 4096,
) -> tuple[Tensor, Tensor]:
    """(IWAE NLL, −ELBO) in nats per image, [N] each (Burda et al. 2016, eq. 8).

    log p̂_k(x) = logsumexp_i [log p(x|z_i) + log N(z_i; 0, I) − log q(z_i|x)] − log k,
    z_i ~ q(z|x). The −ELBO is the mean of the same k single-sample estimates, so both figures
    come from one set of draws; k = 1 gives the ELBO exactly, and the bound tightens with k.
    `x_encoder` and `x_target` live on the model's device; the noise is drawn as [k,N,D].
    """
    device = x_target.device
    mean, logvar = model.encode(x_encoder)  # [N,D] each
    mean, logvar = mean.cpu(), logvar.cpu()
    n, d = mean.shape
    noise = torch.randn((k, n, d), generator=generator)  # [k,N,D]
    z = reparameterize(mean, logvar, noise)  # [k,N,D]
    log_prior = -0.5 * (_LOG_2PI + z.pow(2)).sum(-1)  # [k,N]
    # log q(z|x) at z = μ + σε is −½ Σ (log 2π + log σ² + ε²): no division by σ needed.
    log_posterior = -0.5 * (_LOG_2PI + logvar + noise.pow(2)).sum(-1)  # [k,N]
    log_lik = torch.empty(k, n)
    slices = max(1, decode_rows // n)  # k-slices per decoder call, to bound memory
    for start in range(0, k, slices):
        stop = min(k, start + slices)
        images = x_target.repeat(stop - start, 1, 1, 1)  # [s·N,C,H,W]
        flat_z = z[start:stop].reshape(-1, d).to(device)  # [s·N,D]
        log_lik[start:stop] = model.log_likelihood(images, flat_z).cpu().view(-1, n)
    log_weights = log_lik + log_prior - log_posterior  # [k,N]
    nll = -(torch.logsumexp(log_weights, 0) - math.log(k))
    return nll, -log_weights.mean(0)


def score_images(
    model: Scorable,
    x_unit: Tensor,
    transform: str,
    k: int,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """(IWAE NLL, −ELBO) of images given in [0, 1] (p / 255), [N] each.

    The transform (binarization or dequantization) draws from `generator` first, then the
    bound; /score and the evaluation CLI both go through here, so the same seed and k give
    the same figures in both.
    """
    pixels = unit_to_pixels(x_unit.cpu())
    target = apply_transform(pixels, transform, generator).to(x_unit.device)  # [N,C,H,W]
    return importance_weighted_bound(model, encoder_input(target, transform), target, k, generator)


def bits_per_dim(nll_nats: Tensor, pixels: int) -> Tensor:
    """Discrete bits/dim of a dequantized model: (NLL + D·ln 256) / (D·ln 2)."""
    return (nll_nats + pixels * math.log(256.0)) / (pixels * math.log(2.0))
