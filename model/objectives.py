"""The ELBO and the importance-weighted bound, for any object with the artifact's methods.

Everything here takes a `model` with `encode(x)` and `log_likelihood(x, z)` (the eager VAE or
a loaded TorchScript artifact alike), so evaluation needs no training code.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
from torch import Tensor

_LOG_2PI = math.log(2.0 * math.pi)


class Scorable(Protocol):
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]: ...

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor: ...


def kl_to_standard_normal(mean: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, diag σ²) || N(0, I)) = ½ Σ (σ² + μ² − 1 − log σ²): [N] from [N,D]."""
    return 0.5 * (logvar.exp() + mean.pow(2) - 1.0 - logvar).sum(1)


def gaussian_log_density(z: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; μ, diag σ²), summed over the last dimension."""
    return -0.5 * (_LOG_2PI + logvar + (z - mean).pow(2) * torch.exp(-logvar)).sum(-1)


def reparameterize(mean: Tensor, logvar: Tensor, noise: Tensor) -> Tensor:
    """z = μ + σ ⊙ ε, ε ~ N(0, I): sampling that gradients flow through."""
    return mean + torch.exp(0.5 * logvar) * noise


def elbo_terms(
    model: Scorable, x_encoder: Tensor, x_target: Tensor, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """One-sample estimate of E_q[log p(x|z)] and the analytic KL, each [N]."""
    mean, logvar = model.encode(x_encoder)  # [N,D] each
    noise = torch.randn(mean.shape, generator=generator, device=mean.device)
    z = reparameterize(mean, logvar, noise)
    return model.log_likelihood(x_target, z), kl_to_standard_normal(mean, logvar)


@torch.no_grad()
def importance_weighted_nll(
    model: Scorable,
    x_encoder: Tensor,
    x_target: Tensor,
    k: int,
    generator: torch.Generator | None = None,
    chunk: int = 4096,
) -> tuple[Tensor, Tensor]:
    """(−log p̂_k(x), −ELBO) per image, [N] each (Burda et al. 2016, eq. 8).

    log p̂_k(x) = logsumexp_i [log p(x|z_i) + log p(z_i) − log q(z_i|x)] − log k, z_i ~ q(z|x).
    k = 1 gives the ELBO exactly (in expectation); the bound tightens as k grows. The
    negative ELBO returned is the mean of the k single-sample estimates, and the analytic KL
    is not used so that both figures come from the same samples.
    """
    n = x_encoder.shape[0]
    mean, logvar = model.encode(x_encoder)  # [N,D]
    log_weights = torch.empty(n, k, device=mean.device)  # [N,k]
    # Flatten (image, sample) pairs and decode them `chunk` latents at a time.
    pairs = torch.arange(n * k, device=mean.device)
    for start in range(0, n * k, chunk):
        index = pairs[start : start + chunk]
        image = index // k
        noise = torch.randn(
            (index.shape[0], mean.shape[1]), generator=generator, device=mean.device
        )
        z = reparameterize(mean[image], logvar[image], noise)  # [chunk,D]
        log_prior = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
        log_posterior = gaussian_log_density(z, mean[image], logvar[image])
        log_lik = model.log_likelihood(x_target[image], z)
        log_weights.view(-1)[index] = log_lik + log_prior - log_posterior
    nll = -(torch.logsumexp(log_weights, dim=1) - math.log(k))
    return nll, -log_weights.mean(dim=1)


def bits_per_dim(nll_nats: Tensor, pixels: int) -> Tensor:
    """Discrete bits/dim of a dequantized model: (NLL + D·ln 256) / (D·ln 2) (DESIGN.md)."""
    return (nll_nats + pixels * math.log(256.0)) / (pixels * math.log(2.0))
