"""The VAE of the design notes (docs/artifact.md): a Gaussian encoder, an N(0, I) prior, a decoder.

Architecture, and why:
- Images X ∈ R^{C×H×W}. Both halves are convolutional, with as many stride-2 stages as take
  the picture down to about 4×4 (`stage_plan`): two for MNIST's 28×28 (28 → 14 → 7), four for
  64×64. A fully connected layer goes to and from the latent. Widths double per stage from
  `channels`, up to `max_width`. Conv weight sharing generalises better from a few thousand
  pictures than an MLP, which is the main constraint here.
- `res_blocks` adds residual 3×3 blocks after each stage: capacity that pays at 64×64, where
  one stride-2 layer per stage leaves the decoder too little to draw detail with. 0 for MNIST.
- The decoder is kept cheap on purpose: importance-weighted evaluation with large k decodes
  millions of latents, and that has to fit on two CPU cores.
- SiLU activations; no batch norm, so encode/decode of one image does not depend on the
  others in its batch (the service batches requests from different users).

Likelihoods (metadata `likelihood`):
- `bernoulli`: one logit per pixel, on dynamically binarized pixels (C = 1 only).
- `gaussian`: a mean per pixel and channel on dequantized pixels x = (p + u) / 256, and a
  variance chosen by `decoder_variance` (see `DECODER_VARIANCES` in model.config). Variances
  are squashed into [σ²_min, σ²_max] with a sigmoid of a log. The floor σ²_min = 1 / (12 · 256²)
  is the variance of the dequantization noise u / 256 itself: no model can know a pixel more
  precisely than the noise added to it. The ceiling σ²_max = 1/4 is the largest variance any
  distribution on [0, 1] can have.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from model.config import DEQUANTIZATION_LOGVAR, ModelConfig
from model.layers import ResidualBlock, norm_layer, upsample_layer

GAUSSIAN_LOGVAR_MIN = DEQUANTIZATION_LOGVAR
GAUSSIAN_LOGVAR_MAX = math.log(0.25)
_LOG_2PI = math.log(2.0 * math.pi)
# Supported sides, and the coarsest grid the stages must reach (docs/artifact.md).
MIN_SIDE, MAX_SIDE, MAX_GRID_SIDE = 8, 256, 8
# q(z|x)'s log-variance is bounded softly from above. Both the KL and the reconstruction prefer
# σ² ≤ 1 (the prior's), so no optimum is lost; without a bound one bad step could send
# log σ² to 40+, exp() past float32's range and every later gradient to inf (docs/training.md).
POSTERIOR_LOGVAR_MAX = 2.0


class UnsupportedShape(ValueError):
    """An image shape the networks cannot be built for; the message says what would work."""


def stage_plan(image_shape: tuple[int, int, int]) -> int:
    """How many stride-2 stages take H×W down to about 4×4; raises UnsupportedShape.

    Halve while both sides are even and the smaller stays ≥ 4: 28 → 7 (2 stages), 32 → 4 (3),
    64 → 4 (4), 128 → 4 (5). The grid reached must be at most 8 px a side, or the fully
    connected layer to the latent grows with the picture.
    """
    channels, height, width = image_shape
    if channels not in (1, 3):
        raise UnsupportedShape(f"{channels} channels: the networks take 1 (grey) or 3 (RGB)")
    if not (MIN_SIDE <= height <= MAX_SIDE and MIN_SIDE <= width <= MAX_SIDE):
        raise UnsupportedShape(
            f"{height}×{width} px: each side must be {MIN_SIDE} to {MAX_SIDE} px"
        )
    stages, h, w = 0, height, width
    while h % 2 == 0 and w % 2 == 0 and min(h, w) // 2 >= 4:
        h, w, stages = h // 2, w // 2, stages + 1
    if max(h, w) > MAX_GRID_SIDE or stages == 0:
        raise UnsupportedShape(
            f"{height}×{width} px halves down to {h}×{w}, not to {MAX_GRID_SIDE} px or less: "
            f"use sides that halve to 4–{MAX_GRID_SIDE} px, such as 16, 28, 32, 48, 64, 96, 128"
        )
    return stages


def grid_stages(config: ModelConfig) -> int:
    """Stride-2 stages between the picture and a grid latent; raises UnsupportedShape.

    A C×H×W picture and a c×h×w latent need H = h·2^s and W = w·2^s for one s ≥ 1 (64×64 and
    8×8: three stages).
    """
    grid = config.latent_grid
    assert grid is not None
    _, height, width = config.image_shape
    _, grid_height, grid_width = grid
    for stages in range(1, 9):
        if (grid_height << stages, grid_width << stages) == (height, width):
            return stages
    raise UnsupportedShape(
        f"a {grid_height}×{grid_width} latent grid does not halve up from {height}×{width} px: "
        f"each side of the picture must be the grid's times the same power of two (for "
        f"{height}×{width}, grids such as {height // 4}×{width // 4} or {height // 8}×{width // 8})"
    )


def check_supported(config: ModelConfig) -> None:
    """Raise UnsupportedShape (or ValueError for an unknown likelihood) before any network is
    built or any training starts: the shape (`stage_plan`, `grid_stages`), and Bernoulli for
    grey only."""
    if config.likelihood not in ("bernoulli", "gaussian"):
        raise ValueError(f"unknown likelihood {config.likelihood!r}")
    stage_plan(config.image_shape)
    if config.latent_grid is not None:
        grid_stages(config)
    channels, height, width = config.image_shape
    if config.likelihood == "bernoulli" and channels != 1:
        raise UnsupportedShape(
            f"the bernoulli likelihood is for grey pictures (C = 1), not {channels}×{height}×"
            f"{width}: use --likelihood gaussian, or --image-channels 1"
        )


def stage_widths(config: ModelConfig) -> list[int]:
    """Conv widths of the stages, finest first: channels, 2·channels, … capped at max_width."""
    if config.latent_grid is not None:
        stages = grid_stages(config)
    else:
        stages = stage_plan(config.image_shape)
    return [min(config.channels * 2**i, config.max_width) for i in range(stages)]


class Encoder(nn.Module):
    """x [N,C,H,W] in [0, 1] → (mean [N,D], logvar [N,D]) of q(z|x).

    A flat latent comes from a fully connected layer over the last stage; a grid latent c×h×w
    from a 3×3 convolution, flattened in (c, h, w) order.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        channels, height, width = config.image_shape
        widths = stage_widths(config)
        scale = 2 ** len(widths)
        layers: list[nn.Module] = []
        previous = channels
        for stage_width in widths:
            layers += [nn.Conv2d(previous, stage_width, 4, stride=2, padding=1), nn.SiLU()]
            layers += [ResidualBlock(stage_width, config.norm) for _ in range(config.res_blocks)]
            previous = stage_width  # [N,w,H/2^i,W/2^i]
        grid = config.latent_grid
        self.head: nn.Module
        if grid is None:
            self.features = nn.Sequential(
                *layers,
                nn.Flatten(),
                nn.Linear(previous * (height // scale) * (width // scale), config.hidden),
                nn.SiLU(),
            )
            self.head = nn.Linear(config.hidden, 2 * config.latent_dim)
        else:
            self.features = nn.Sequential(*layers, norm_layer(previous, config.norm), nn.SiLU())
            self.head = nn.Conv2d(previous, 2 * grid[0], 3, padding=1)
        self.bounded = config.bounded_posterior
        self.logvar_max = POSTERIOR_LOGVAR_MAX

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        # [N,2D] (flat) or [N,2c,h,w] (grid): the first half is the mean either way.
        mean, logvar = self.head(self.features(x)).chunk(2, dim=1)
        if self.bounded:
            # max − softplus(max − v): v where v ≪ max, never above max, smooth everywhere.
            logvar = self.logvar_max - nn.functional.softplus(self.logvar_max - logvar)
        return mean.flatten(1), logvar.flatten(1)  # [N,D] each


class Decoder(nn.Module):
    """z [N,D] → distribution parameters [N, P·C, H, W] (P = 1 for Bernoulli, 2 for Gaussian).

    For a Gaussian the second C channels are the raw (unsquashed) log-variances. With a
    per-image or shared variance they are one value per image broadcast over C×H×W, so the
    likelihood reads every variance model the same way.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        channels, height, width = config.image_shape
        widths = stage_widths(config)
        scale = 2 ** len(widths)
        self.image_channels = channels
        self.variance = config.decoder_variance if config.likelihood == "gaussian" else "none"
        pixel_variance = self.variance in ("pixel", "edge-floor")
        params_per_pixel = 2 if pixel_variance else 1
        self.grid = (widths[-1], height // scale, width // scale)
        latent_grid = config.latent_grid
        self.spatial = latent_grid is not None
        self.latent_grid = latent_grid if latent_grid is not None else (0, 0, 0)
        self.hidden: nn.Module
        self.project: nn.Module
        if latent_grid is None:
            self.hidden = nn.Sequential(
                nn.Linear(config.latent_dim, config.hidden), nn.SiLU(), nn.Dropout(config.dropout)
            )
            self.project = nn.Sequential(
                nn.Linear(config.hidden, widths[-1] * self.grid[1] * self.grid[2]), nn.SiLU()
            )
            summary_width = config.hidden
        else:
            self.hidden = nn.Identity()
            self.project = nn.Conv2d(latent_grid[0], widths[-1], 3, padding=1)
            summary_width = widths[-1]
        layers: list[nn.Module] = []
        for index in range(len(widths) - 1, -1, -1):
            layers += [ResidualBlock(widths[index], config.norm) for _ in range(config.res_blocks)]
            last = index == 0
            out = params_per_pixel * channels if last else widths[index - 1]
            # The last stage goes straight to the output: a further full-resolution conv
            # stage costs several times the decode time for little visible gain.
            layers.append(upsample_layer(widths[index], out, config.upsample))
            if not last:
                layers += [norm_layer(out, config.norm), nn.SiLU()]  # [N,w,H/2^i,W/2^i]
        self.upsample = nn.Sequential(*layers)
        # σ'(z), one per image (the design's isotropic reading), or one learned σ for all.
        self.image_logvar = nn.Linear(summary_width, 1) if self.variance == "image" else None
        self.shared_logvar = nn.Parameter(torch.zeros(1)) if self.variance == "shared" else None

    def forward(self, z: Tensor) -> Tensor:
        if self.spatial:
            c, h, w = self.latent_grid
            grid = self.project(z.view(-1, c, h, w))  # [N,w,h,w]
            summary = grid.mean(dim=(2, 3))  # [N,w]: what a per-image σ is read from
        else:
            summary = self.hidden(z)  # [N,hidden]
            grid = self.project(summary).view(-1, self.grid[0], self.grid[1], self.grid[2])
        params = self.upsample(grid)  # [N,P·C,H,W]
        if self.image_logvar is not None:
            raw = self.image_logvar(summary)[:, :, None, None].expand_as(params)  # [N,C,H,W]
            return torch.cat([params, raw], dim=1)
        if self.shared_logvar is not None:
            raw = self.shared_logvar.view(1, 1, 1, 1).expand_as(params)
            return torch.cat([params, raw], dim=1)
        return params


class VAE(nn.Module):
    """The whole model; its exported methods are the artifact contract of docs/artifact.md."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        check_supported(config)
        self.likelihood: str = config.likelihood
        self.image_channels: int = config.image_shape[0]
        self.latent_dim: int = config.latent_dim
        # Plain attributes, not module globals: TorchScript cannot close over Python floats.
        self.logvar_min: float = config.logvar_min
        self.logvar_max: float = GAUSSIAN_LOGVAR_MAX
        self.log_2pi: float = _LOG_2PI
        self.edge_floor: bool = config.decoder_variance == "edge-floor"
        self.edge_weight: float = config.edge_floor_weight
        self.edge_radius: int = config.edge_floor_radius
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
        """log p(x|z) in nats, summed over pixels and channels: [N]."""
        # float32 whatever the decoder ran in: σ can be finer than bf16 resolves.
        params = self.decoder(z).float()  # [N,P·C,H,W]
        logits = params[:, : self.image_channels]
        if self.likelihood == "bernoulli":
            # log Bern(x; σ(l)) = x·l − softplus(l), stable for large |l|.
            per_pixel = x * logits - nn.functional.softplus(logits)
        else:
            mean = torch.sigmoid(logits)
            logvar = self.gaussian_logvar(params[:, self.image_channels :])
            if self.edge_floor:
                logvar = self.with_edge_floor(logvar, mean)
            per_pixel = -0.5 * (self.log_2pi + logvar + (x - mean).pow(2) * torch.exp(-logvar))
        return per_pixel.flatten(1).sum(1)

    def forward(self, x: Tensor) -> Tensor:
        """Reconstruction through the posterior mean: [N,C,H,W]."""
        mean, _ = self.encode(x)
        return self.decode(mean)

    def gaussian_logvar(self, raw: Tensor) -> Tensor:
        """Squash unconstrained decoder outputs into [logvar_min, logvar_max]."""
        return self.logvar_min + (self.logvar_max - self.logvar_min) * torch.sigmoid(raw)

    def with_edge_floor(self, logvar: Tensor, mean: Tensor) -> Tensor:
        """σ² + w · r², r the range of the mean within `edge_radius` px: [N,C,H,W].

        A pixel near an edge of the decoded picture may hold either side's value once the
        picture moves by a pixel or two, so its σ may not fall below √w of the local contrast.
        Flat regions (the background) keep the principled floor, so held-out likelihood stays
        cheap, and a shifted picture costs at most about 1 / (2w) nats per changed pixel.
        """
        size = 2 * self.edge_radius + 1
        local_max = nn.functional.max_pool2d(mean, size, stride=1, padding=self.edge_radius)
        local_min = -nn.functional.max_pool2d(-mean, size, stride=1, padding=self.edge_radius)
        floor = self.edge_weight * (local_max - local_min).pow(2)  # [N,C,H,W]
        return torch.log(torch.exp(logvar) + floor)
