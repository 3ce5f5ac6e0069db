"""Typed configuration for the VAE and its training run; it travels inside checkpoints."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

Likelihood = Literal["bernoulli", "gaussian"]

# How raw 8-bit pixels become training data for each likelihood (docs/artifact.md).
INPUT_TRANSFORMS: dict[str, str] = {"bernoulli": "binarize", "gaussian": "dequantize"}


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network; everything needed to rebuild it from a checkpoint."""

    likelihood: Likelihood = "bernoulli"
    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = 32
    channels: int = 32  # width of the first conv stage; the second doubles it
    hidden: int = 512  # width of the fully connected layer between conv stack and latent
    dropout: float = 0.0  # on the decoder's hidden layer; a regulariser for small data

    @property
    def input_transform(self) -> str:
        return INPUT_TRANSFORMS[self.likelihood]


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults are the shipped Bernoulli model's settings."""

    model: ModelConfig = field(default_factory=ModelConfig)
    name: str = "mnist-bernoulli"
    data_dir: str = "data/mnist"  # an IDX folder; see the README for where to get MNIST
    train_split: str = "train-5k"
    val_split: str = "val-5k"
    limit: int | None = None  # use only the first N training digits (after shuffling): smoke runs
    epochs: int = 200
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    kl_warmup_epochs: int = 10  # linear KL annealing from 0.1 to 1: avoids early posterior collapse
    augment_shift: int = 2  # random translation of up to this many pixels; 0 disables it
    # Gaussian only: start with a variance floor of 0.01 and anneal it (in log space) to the
    # principled floor over this many epochs, so the latent learns the digit's shape before the
    # decoder learns grey-level precision. 0: the principled floor from the start.
    variance_warmup_epochs: int = 0
    patience: int = 30  # early stopping: epochs without a better val ELBO
    # Robustness (the Gaussian likelihood can blow up once its variance floor is low): clip the
    # gradient norm, and when the val ELBO falls more than `spike_nats` below the best, roll the
    # weights and optimizer back to the best epoch and halve the learning rate. Gradient norms
    # differ by orders of magnitude between likelihoods, so the clip is relative: a multiple of
    # the running average norm.
    grad_clip: float = 5.0  # clip at this multiple of the running mean norm; 0 disables
    spike_nats: float = 200.0  # 0 disables rollback; checked after the KL warm-up
    max_rollbacks: int = 5
    # After training (format 2): candidate K of the fitted mixture, chosen on the val split,
    # and the components of each per-class mixture behind /sample?digit=.
    prior_candidates: str = "1,10,20,50"
    prior_sources: str = "means,draws"  # fit on encoder means, draws z ~ q(z|x), or compare
    class_components: int = 3
    eval_samples: int = 5000  # decoded samples per prior for the sample-quality figures
    max_minutes: float | None = None  # wall-clock cap for the whole run
    seed: int = 0
    device: str = "auto"
    out_dir: str = "runs/mnist-bernoulli"
    num_threads: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainConfig:
        model_raw = dict(raw.get("model", {}))
        if "image_shape" in model_raw:
            model_raw["image_shape"] = tuple(model_raw["image_shape"])
        return cls(**{**raw, "model": ModelConfig(**model_raw)})
