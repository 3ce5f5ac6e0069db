"""Latent-space operations the routes need: sampling, interpolation and the IWAE score.

Everything random draws from a CPU torch.Generator seeded by the request, so the same seed gives
the same latents on any device.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from app.artifacts import LoadedModel

_LOG_2PI = math.log(2.0 * math.pi)


def prior_latents(n: int, latent_dim: int, seed: int, temperature: float) -> Tensor:
    """z = temperature · ε, ε ~ N(0, I): [n,D]."""
    generator = torch.Generator().manual_seed(seed)
    return temperature * torch.randn((n, latent_dim), generator=generator)


def class_latents(stats: dict[str, list[float]], n: int, seed: int, temperature: float) -> Tensor:
    """z = mean_c + temperature · sqrt(var_c) ⊙ ε: samples near one digit class, [n,D]."""
    generator = torch.Generator().manual_seed(seed)
    mean, std = torch.tensor(stats["mean"]), torch.tensor(stats["var"]).clamp_min(0).sqrt()
    return mean + temperature * std * torch.randn((n, mean.shape[0]), generator=generator)


def interpolate(a: Tensor, b: Tensor, steps: int, method: str) -> Tensor:
    """`steps` points from a to b inclusive, [steps,D].

    slerp is the unnormalised form of White (2016): sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b,
    Ω the angle between a and b; it falls back to linear when they are (anti)parallel.
    """
    t = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)[:, None]  # [S,1]
    a64, b64 = a.double()[None], b.double()[None]  # [1,D]
    linear = (1 - t) * a64 + t * b64
    if method == "linear":
        return linear.float()
    norms = a64.norm() * b64.norm()
    cosine = float((a64 * b64).sum() / norms) if norms > 0 else 1.0
    omega = math.acos(max(-1.0, min(1.0, cosine)))
    if math.sin(omega) < 1e-6:
        return linear.float()
    path = (torch.sin((1 - t) * omega) * a64 + torch.sin(t * omega) * b64) / math.sin(omega)
    path[0], path[-1] = a64[0], b64[0]  # exact ends, whatever rounding did
    return path.float()


def to_likelihood_space(x: Tensor, transform: str, generator: torch.Generator) -> Tensor:
    """Pixels p/255 → the representation `log_likelihood` is defined on (DESIGN.md)."""
    pixels = (x * 255.0).round()
    if transform == "binarize":
        return torch.bernoulli(pixels / 255.0, generator=generator)
    return (pixels + torch.rand(pixels.shape, generator=generator)) / 256.0


def score(model: LoadedModel, x: Tensor, k: int, seed: int) -> tuple[Tensor, Tensor]:
    """(−ELBO, IWAE NLL) in nats per image, [N] each, with k importance samples.

    log p̂(x) = logsumexp_i [log p(x|z_i) + log N(z_i; 0, I) − log q(z_i|x)] − log k
    (Burda et al. 2016); −ELBO is the mean of the same k single-sample estimates.
    """
    generator = torch.Generator().manual_seed(seed)
    target = to_likelihood_space(x, model.input_transform, generator)  # [N,C,H,W]
    encoder_input = target if model.input_transform == "binarize" else x
    mean, logvar = model.module.encode(encoder_input.to(model.device))  # [N,D]
    mean, logvar = mean.cpu(), logvar.cpu()
    n, d = mean.shape
    noise = torch.randn((k, n, d), generator=generator)  # [k,N,D]
    z = mean + torch.exp(0.5 * logvar) * noise
    log_prior = -0.5 * (_LOG_2PI + z.pow(2)).sum(-1)  # [k,N]
    log_posterior = -0.5 * (_LOG_2PI + logvar + noise.pow(2)).sum(-1)  # [k,N]
    log_lik = torch.empty(k, n)
    chunk = max(1, 2048 // n)  # k-slices per decoder call, to bound memory
    for start in range(0, k, chunk):
        stop = min(k, start + chunk)
        images = target.repeat(stop - start, 1, 1, 1).to(model.device)  # [(s)·N,C,H,W]
        flat_z = z[start:stop].reshape(-1, d).to(model.device)
        log_lik[start:stop] = model.module.log_likelihood(images, flat_z).cpu().view(-1, n)
    log_weights = log_lik + log_prior - log_posterior  # [k,N]
    nll = -(torch.logsumexp(log_weights, 0) - math.log(k))
    return -log_weights.mean(0), nll


def bits_per_dim(nll: Tensor, pixels: int) -> Tensor:
    """(NLL + D·ln 256) / (D·ln 2) for dequantized models (DESIGN.md)."""
    return (nll + pixels * math.log(256.0)) / (pixels * math.log(2.0))
