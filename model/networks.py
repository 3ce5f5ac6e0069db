"""The VAE of the design notes (docs/artifact.md): a Gaussian encoder, an N(0, I) prior, a decoder.

Architecture, and why:
- MNIST digits are small (28×28) and strongly local, so both halves are convolutional: two
  stride-2 stages (28 → 14 → 7) with a fully connected layer to and from the latent. A conv
  decoder gives sharper samples than an MLP at the same size, and weight sharing generalises
  better from only 5,000 training digits, which is the main constraint here.
- The decoder is kept cheap on purpose: importance-weighted evaluation with k = 1000 decodes
  5 million latents, and that has to fit on two CPU cores.
- SiLU activations; no batch norm, so encode/decode of one image does not depend on the
  others in its batch (the service batches requests from different users).

Likelihoods (metadata `likelihood`):
- `bernoulli`: one logit per pixel, on dynamically binarized pixels.
- `gaussian`: a per-pixel mean and variance on dequantized pixels x = (p + u) / 256. The
  log-variance is squashed into [log σ²_min, log σ²_max] with a sigmoid. The floor
  σ²_min = 1 / (12 · 256²) is the variance of the dequantization noise u / 256 itself: no
  model can know a pixel more precisely than the noise added to it, and without a floor the
  learned variance of the always-black background collapses towards 0, sending the density
  to infinity and the gradients with it. The ceiling σ²_max = 1/4 is the largest variance
  any distribution on [0, 1] can have.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from model.config import ModelConfig

GAUSSIAN_LOGVAR_MIN = math.log(1.0 / (12.0 * 256.0**2))
GAUSSIAN_LOGVAR_MAX = math.log(0.25)
_LOG_2PI = math.log(2.0 * math.pi)


class Encoder(nn.Module):
    """x [N,C,H,W] in [0, 1] → (mean [N,D], logvar [N,D]) of q(z|x)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        channels, height, width = config.image_shape
        width_1, width_2 = config.channels, 2 * config.channels
        self.features = nn.Sequential(
            nn.Conv2d(channels, width_1, 4, stride=2, padding=1),  # [N,c,H/2,W/2]
            nn.SiLU(),
            nn.Conv2d(width_1, width_2, 4, stride=2, padding=1),  # [N,2c,H/4,W/4]
            nn.SiLU(),
            nn.Flatten(),
            nn.Linear(width_2 * (height // 4) * (width // 4), config.hidden),
            nn.SiLU(),
        )
        self.head = nn.Linear(config.hidden, 2 * config.latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, logvar = self.head(self.features(x)).chunk(2, dim=1)  # [N,D] each
        return mean, logvar


class Decoder(nn.Module):
    """z [N,D] → distribution parameters [N, P·C, H, W] (P = 1 for Bernoulli, 2 for Gaussian)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        channels, height, width = config.image_shape
        width_1, width_2 = config.channels, 2 * config.channels
        params_per_pixel = 2 if config.likelihood == "gaussian" else 1
        self.grid = (width_2, height // 4, width // 4)
        self.project = nn.Sequential(
            nn.Linear(config.latent_dim, config.hidden),
            nn.SiLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, width_2 * (height // 4) * (width // 4)),
            nn.SiLU(),
        )
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(width_2, width_1, 4, stride=2, padding=1),  # [N,c,H/2,W/2]
            nn.SiLU(),
            # Straight to the output: a further full-resolution conv stage costs 5× the
            # decode time for no visible gain.
            nn.ConvTranspose2d(width_1, params_per_pixel * channels, 4, stride=2, padding=1),
        )

    def forward(self, z: Tensor) -> Tensor:
        hidden = self.project(z)  # [N, 2c·H/4·W/4]
        return self.upsample(hidden.view(-1, self.grid[0], self.grid[1], self.grid[2]))


class VAE(nn.Module):
    """The whole model; its exported methods are the artifact contract of docs/artifact.md."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"unknown likelihood {config.likelihood!r}")
        self.likelihood: str = config.likelihood
        self.image_channels: int = config.image_shape[0]
        self.latent_dim: int = config.latent_dim
        # Plain attributes, not module globals: TorchScript cannot close over Python floats.
        self.logvar_min: float = GAUSSIAN_LOGVAR_MIN
        self.logvar_max: float = GAUSSIAN_LOGVAR_MAX
        self.log_2pi: float = _LOG_2PI
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)

    @torch.jit.export
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance of q(z|x), each [N,D]; x in [0, 1]."""
        return self.encoder(x)

    @torch.jit.export
    def decode(self, z: Tensor) -> Tensor:
        """The decoder's mean image [N,C,H,W] in [0, 1]."""
        params = self.decoder(z)
        return torch.sigmoid(params[:, : self.image_channels])

    @torch.jit.export
    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z) in nats, summed over pixels: [N]."""
        params = self.decoder(z)  # [N,P·C,H,W]
        logits = params[:, : self.image_channels]
        if self.likelihood == "bernoulli":
            # log Bern(x; σ(l)) = x·l − softplus(l), stable for large |l|.
            per_pixel = x * logits - nn.functional.softplus(logits)
        else:
            mean = torch.sigmoid(logits)
            logvar = self.gaussian_logvar(params[:, self.image_channels :])
            per_pixel = -0.5 * (self.log_2pi + logvar + (x - mean).pow(2) * torch.exp(-logvar))
        return per_pixel.flatten(1).sum(1)

    def forward(self, x: Tensor) -> Tensor:
        """Reconstruction through the posterior mean: [N,C,H,W]."""
        mean, _ = self.encode(x)
        return self.decode(mean)

    def gaussian_logvar(self, raw: Tensor) -> Tensor:
        """Squash unconstrained decoder outputs into [logvar_min, logvar_max]."""
        return self.logvar_min + (self.logvar_max - self.logvar_min) * torch.sigmoid(raw)
