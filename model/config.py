"""Typed configuration for the VAE and its training run; it travels inside checkpoints."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from model.precision import Precision

Likelihood = Literal["bernoulli", "gaussian"]
# How the Gaussian decoder's variance is modelled (docs/artifact.md, "Decoder variance"):
# - pixel: σ²(z) per pixel and channel (can collapse on pixels blank in all training pictures);
# - image: one σ'(z)² per image, the design notes' N(μ'(z), σ'(z)² I) read literally;
# - shared: one learned σ² for every pixel of every image (σ-VAE, Rybkin et al. 2021);
# - edge-floor: per pixel, with a floor of w · (local contrast of the mean)² near edges.
DecoderVariance = Literal["pixel", "image", "shared", "edge-floor"]
DECODER_VARIANCES: tuple[str, ...] = ("pixel", "image", "shared", "edge-floor")
# How the decoder doubles its resolution (model.layers.upsample_layer), and its normalisation.
Upsample = Literal["transpose", "nearest"]
Norm = Literal["none", "group"]
# What a checkpoint written before a field existed was built with: its networks' own choice.
LEGACY_MODEL_FIELDS: dict[str, Any] = {
    "upsample": "transpose",
    "norm": "none",
    "latent_shape": "",
    "bounded_posterior": False,
}

# The variance of the dequantization noise u/256, u ~ U[0, 1): no model can know a dequantized
# pixel more precisely, so it is the Gaussian decoder's default floor (docs/models.md).
DEQUANTIZATION_LOGVAR = math.log(1.0 / (12.0 * 256.0**2))

# How raw 8-bit pixels become training data for each likelihood (docs/artifact.md).
INPUT_TRANSFORMS: dict[str, str] = {"bernoulli": "binarize", "gaussian": "dequantize"}


def option(default: Any, help: str, metavar: str = "") -> Any:
    """A config field with its command-line help: one declaration documents the flag."""
    return field(default=default, metadata={"help": help, "metavar": metavar})


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network; everything needed to rebuild it from a checkpoint."""

    likelihood: Likelihood = option(
        "bernoulli", "decoder likelihood: bernoulli (binarized pixels) or gaussian (dequantized)"
    )
    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = option(32, "size D of the latent code", "D")
    latent_shape: str = option(
        "",
        "read the latent as a CxHxW grid (D = C·H·W, set by this flag) that convolutions map "
        "to and from the picture, instead of a fully connected layer; e.g. 4x8x8",
        "CxHxW",
    )
    upsample: Upsample = option(
        "nearest", "decoder: nearest (repeat, then a 3x3 conv) or transpose (4x4 stride 2)"
    )
    norm: Norm = option("group", "GroupNorm in the conv stages (group) or none")
    # q(z|x)'s log-variance softly bounded above (model.networks.POSTERIOR_LOGVAR_MAX); off
    # only in checkpoints from before the bound.
    bounded_posterior: bool = True
    channels: int = option(32, "width of the first conv stage; each further stage doubles it", "N")
    max_width: int = option(256, "widest conv stage", "N")
    res_blocks: int = option(0, "residual 3×3 blocks after each conv stage", "N")
    hidden: int = option(512, "width of the layer between the conv stack and the latent", "N")
    dropout: float = option(0.0, "dropout on the decoder's hidden layer", "P")
    decoder_variance: DecoderVariance = option(
        "pixel", "gaussian: variance per pixel, per image, shared, or per pixel with an edge floor"
    )
    sigma_floor: float = option(
        0.0,
        "gaussian: smallest decoder σ; 0: the dequantization noise's own, 1/(√12·256) ≈ 0.0011",
        "S",
    )
    edge_floor_weight: float = option(
        1 / 64, "edge-floor: σ² ≥ W · (range of the mean within the radius)²", "W"
    )
    edge_floor_radius: int = option(2, "edge-floor: radius in pixels of that range", "R")

    def __post_init__(self) -> None:
        # A grid latent fixes D; the flat vector the API and the priors see is its C·H·W values.
        grid = self.latent_grid
        if grid is not None:
            object.__setattr__(self, "latent_dim", grid[0] * grid[1] * grid[2])

    @property
    def input_transform(self) -> str:
        return INPUT_TRANSFORMS[self.likelihood]

    @property
    def logvar_min(self) -> float:
        """log σ²_min of the Gaussian decoder: the `sigma_floor`, or the dequantization noise's
        variance 1/(12·256²) when it is 0."""
        if self.sigma_floor > 0:
            return 2.0 * math.log(self.sigma_floor)
        return DEQUANTIZATION_LOGVAR

    @property
    def latent_grid(self) -> tuple[int, int, int] | None:
        """`latent_shape` as (C, H, W), or None for a flat latent."""
        return parse_latent_shape(self.latent_shape) if self.latent_shape else None


def parse_latent_shape(text: str) -> tuple[int, int, int]:
    """'4x8x8' → (4, 8, 8); raises ValueError naming the form."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        sides = tuple(int(part) for part in parts)
    except ValueError:
        sides = ()
    if len(sides) != 3 or min(sides) <= 0:
        raise ValueError(f"--latent-shape {text!r}: give CxHxW, such as 4x8x8")
    return sides[0], sides[1], sides[2]


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults are the shipped Bernoulli model's recipe."""

    model: ModelConfig = field(default_factory=ModelConfig)
    name: str = option("", "model name in the API; default mnist-<likelihood>", "NAME")
    data_dir: str = option(
        "data/mnist",
        "IDX files of the splits, or one folder of images per split (class sub-folders give "
        "labels); see README 'Train on your own images'",
        "DIR",
    )
    image_size: str = option(
        "", "pictures are fitted to this size, N or HxW; default: the folder's own size", "SIZE"
    )
    image_channels: int = option(
        0, "1 (grey) or 3 (colour); default: 3 when any picture has colour", "C"
    )
    background: str = option(
        "#ffffff", "colour that transparent pixels are composited over (colour pictures)", "RGB"
    )
    train_split: str = option("train-5k", "split to train on (file prefix)", "SPLIT")
    val_split: str = option("val-5k", "split for early stopping and figures", "SPLIT")
    limit: int | None = option(None, "train on the first N pictures only (smoke runs)", "N")
    epochs: int = option(200, "epochs of the cosine schedule", "N")
    batch_size: int = option(64, "images per step", "N")
    lr: float = option(1e-3, "AdamW learning rate", "RATE")
    weight_decay: float = option(1e-4, "AdamW weight decay", "RATE")
    # Linear KL annealing from 0.1 to 1 avoids early posterior collapse.
    kl_warmup_epochs: int = option(10, "epochs of KL annealing from 0.1 to 1", "N")
    augment_shift: int = option(1, "random shift of up to N pixels; 0 disables it", "N")
    augment_flip: float = option(0.0, "probability of a horizontal flip per picture", "P")
    # Gaussian only: start with a variance floor of 0.01 and anneal it (in log space) to the
    # principled floor over this many epochs, so the latent learns the digit's shape before the
    # decoder learns grey-level precision. 0: the principled floor from the start.
    variance_warmup_epochs: int = option(
        0, "gaussian: epochs to lower the variance floor from 0.01 to its minimum", "N"
    )
    patience: int = option(30, "early stopping: epochs without a better val ELBO", "N")
    # Robustness (the Gaussian likelihood can blow up once its variance floor is low). Gradient
    # norms differ by orders of magnitude between likelihoods, so the clip is relative.
    grad_clip: float = option(
        5.0, "clip the gradient norm at this multiple of its running mean; 0: off", "X"
    )
    # A fall of the val ELBO is judged against the picture's size: 200 nats is a spike for a
    # 784-value digit and noise for a 12,288-value 64×64×3 picture.
    spike_nats: float | None = option(
        None,
        "roll back when the val ELBO falls this far below the best; default 0.25 nats per "
        "pixel value (196 for 28×28 grey); 0: off",
        "NATS",
    )

    @property
    def spike_threshold(self) -> float:
        """`spike_nats`, or 0.25 nats per pixel value of the image shape when unset."""
        if self.spike_nats is not None:
            return self.spike_nats
        channels, height, width = self.model.image_shape
        return 0.25 * channels * height * width

    max_rollbacks: int = option(5, "most rollbacks per run", "N")
    # After training (format 2): candidate K of the fitted mixture, chosen on the val split,
    # and the components of each per-class mixture behind /sample?digit=.
    prior_candidates: str = option("1,10,20,50", "fitted prior: candidate K", "K,K,...")
    prior_sources: str = option(
        "means,draws", "fitted prior: fit to encoder means, posterior draws, or compare", "SRC,..."
    )
    class_components: int = option(3, "components of each per-class prior", "K")
    eval_samples: int = option(5000, "decoded samples per prior for sample figures", "N")
    precision: Precision = option(
        "auto", "auto (bf16 autocast where the device has it natively), bf16 or fp32"
    )
    max_minutes: float | None = option(None, "wall-clock cap for the whole run", "MIN")
    seed: int = option(0, "random seed", "N")
    device: str = option("auto", "auto, cpu, cuda or cuda:N", "DEVICE")
    out_dir: str = option("", "checkpoints and pictures; default runs/<name>", "DIR")
    num_threads: int | None = option(None, "torch threads; default torch's", "N")

    def __post_init__(self) -> None:
        # Defaults that follow other fields: a Gaussian run is not called mnist-bernoulli.
        if not self.name:
            object.__setattr__(self, "name", f"mnist-{self.model.likelihood}")
        if not self.out_dir:
            object.__setattr__(self, "out_dir", f"runs/{self.name}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainConfig:
        """A checkpoint's config; keys this code no longer has are dropped."""
        known_model = {f.name for f in dataclasses.fields(ModelConfig)}
        model_raw = {**LEGACY_MODEL_FIELDS, **raw.get("model", {})}
        model_raw = {k: v for k, v in model_raw.items() if k in known_model}
        if "image_shape" in model_raw:
            model_raw["image_shape"] = tuple(model_raw["image_shape"])
        known = {f.name for f in dataclasses.fields(cls)} - {"model"}
        values = {k: v for k, v in raw.items() if k in known}
        return cls(**values, model=ModelConfig(**model_raw))
