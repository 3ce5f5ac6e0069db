"""Load artifacts for serving: the contract's loader, plus what only a server needs (the file's
digest, an expected-digest check before torch reads the file, and a folder of artifacts)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from contract.artifact import load_artifact
from contract.errors import ArtifactError
from contract.metadata import IDENTITY_FIELDS, ArtifactMetadata
from contract.priors import Priors

_DIGITS = frozenset(str(digit) for digit in range(10))
# The most picture values one model call makes or takes (4 MB of float32): what bounds a call's
# activations, whatever the batch size (app.model_calls.run_in_rows).
CALL_PICTURE_VALUES = 1 << 20


class StartupError(RuntimeError):
    """The service cannot start as configured; the message says why, in one line."""


@dataclass
class LoadedModel:
    """One validated artifact, on its device, with what the routes need to know about it."""

    path: Path
    module: torch.jit.ScriptModule
    metadata: ArtifactMetadata
    priors: Priors
    device: torch.device
    sha256: str
    size_bytes: int
    name: str = field(init=False)
    image_shape: tuple[int, int, int] = field(init=False)
    latent_dim: int = field(init=False)
    background: tuple[int, int, int] = field(init=False)
    # Whether this model's rows decode to the same bits whatever shares their call (set by the
    # warm-up, app.registry): what a strong ETag promises.
    bit_exact: bool = field(default=False, init=False)
    # Whether rows also come out the same in calls of any multiple of VAE_CALL_ROWS rows, so a
    # padded batch runs as one call instead of several (set by the warm-up).
    whole_calls: bool = field(default=False, init=False)
    # VAE_HALF_PRECISION on a CUDA device: its calls run in float16 autocast (app.worker).
    half: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.name = self.metadata.name
        self.image_shape = self.metadata.image_shape
        self.latent_dim = self.metadata.latent_dim
        self.background = self.metadata.background

    @property
    def latent_shape(self) -> tuple[int, int, int] | None:
        return self.metadata.latent_shape

    @property
    def any_size(self) -> bool:
        """Whether the model takes pictures of many sizes (format 4 `sizes`); its methods then
        take and give latents as grids [N, c, h, w], not flat vectors."""
        return self.metadata.sizes is not None

    @property
    def has_likelihood(self) -> bool:
        return self.metadata.has_likelihood

    @property
    def latent_input(self) -> tuple[int, ...]:
        """The shape of one latent as decode takes it at the default size: [D], or the grid of
        a model that takes any size."""
        if self.any_size and self.latent_shape is not None:
            return self.latent_shape
        return (self.latent_dim,)

    def as_decode_input(self, flat: torch.Tensor) -> torch.Tensor:
        """Latents [N, D] (as priors draw them) → what decode takes: unchanged, or as grids."""
        if self.any_size and flat.dim() == 2:
            return flat.reshape(len(flat), *self.latent_input)
        return flat

    def picture_shape(self, latent: tuple[int, ...]) -> tuple[int, int, int]:
        """The picture one latent (as decode takes it) decodes to."""
        sizes = self.metadata.sizes
        if sizes is None or len(latent) != 3:
            return self.image_shape
        return self.image_shape[0], latent[1] * sizes.factor, latent[2] * sizes.factor

    @property
    def call_limits(self) -> tuple[int, int | None]:
        """The fewest and most rows one call takes: an exported program's traced range (format
        4 `call_rows`), and at most CALL_PICTURE_VALUES of pictures (at the default size), which
        bounds a call's activations: a 64×64×3 model decodes 85 rows a call, not 256 (the flood
        soak's walks held 660 MB more that way)."""
        rows = self.metadata.call_rows
        fewest, most = (rows.min, rows.max) if rows is not None else (1, None)
        by_size = max(1, CALL_PICTURE_VALUES // math.prod(self.image_shape))
        return fewest, max(fewest, min(most, by_size) if most is not None else by_size)

    def can_sample(self) -> bool:
        """Whether /sample has a prior whose draws are pictures (format 4 can say N(0, I) has
        not)."""
        return self.priors.fitted is not None or self.metadata.standard_prior

    @property
    def labels(self) -> list[str]:
        """The class names /sample?label= takes (format 2's digits are names "0"…"9")."""
        return sorted(
            self.priors.classes,
            key=lambda name: (not name.isdigit(), int(name) if name.isdigit() else 0, name),
        )

    def percentile(self, nll: list[float]) -> list[float] | None:
        """Where each NLL falls among the val pictures' (0–100); None without quantiles."""
        reference = self.metadata.score_reference
        if reference is None:
            return None
        levels = np.linspace(0.0, 100.0, len(reference.quantiles))
        # Ties in the quantiles (a flat stretch): np.interp takes the last, so a value equal to
        # a tied quantile reads as the highest percentile that quantile holds.
        return [round(float(p), 2) for p in np.interp(nll, reference.quantiles, levels)]

    @property
    def sample_priors(self) -> list[str]:
        """The values /sample?prior= takes: `standard` only when its draws are pictures."""
        names = self.priors.names
        return names if self.metadata.standard_prior else [n for n in names if n != "standard"]

    @property
    def input_transform(self) -> str:
        return self.metadata.input_transform

    def served(self) -> dict[str, Any]:
        """What the server adds to the metadata: the choices it offers, where and what the
        file is."""
        sizes = self.metadata.sizes
        return {
            "sample_priors": self.sample_priors,
            "sizes": sizes.model_dump() if sizes is not None else None,
            "can_score": self.has_likelihood,
            "can_sample": self.can_sample(),
            "labels": self.labels,
            "digits": [label for label in self.labels if label in _DIGITS],
            "device": str(self.device),
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
        }

    def describe(self) -> dict[str, Any]:
        """The whole metadata plus `served()`: the body of GET /models/{name}."""
        return {**self.metadata.as_json(), **self.served()}

    def summary(self) -> dict[str, Any]:
        """The few fields a client needs to choose and call a model: one item of GET /models."""
        identity = self.metadata.model_dump(
            mode="json", include=set(IDENTITY_FIELDS), exclude_none=True
        )
        latent_shape = self.metadata.latent_shape
        return {
            **identity,
            "latent_shape": list(latent_shape) if latent_shape is not None else None,
            **self.served(),
        }


def load_served_model(
    path: Path, device: torch.device, expected_sha256: str | None = None
) -> LoadedModel:
    """Read the file once, check the digest of those bytes, then load, validate and probe
    exactly them; raises ArtifactError."""
    if not path.is_file():
        raise ArtifactError(f"{path}: no such file")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise ArtifactError(
            f"{path}: sha256 {digest} does not match the expected "
            f"{expected_sha256} (VAE_EXPECTED_SHA256)"
        )
    artifact = load_artifact(path, map_location=device, data=data)
    return LoadedModel(
        path=path,
        module=artifact.module,
        metadata=artifact.metadata,
        priors=artifact.priors,
        device=device,
        sha256=digest,
        size_bytes=len(data),
    )


def find_artifacts(weights: Path) -> list[Path]:
    """A single file, or every *.pt in a folder (sorted); an empty result is an error."""
    paths = [weights] if weights.is_file() else sorted(weights.glob("*.pt"))
    if not paths:
        where = weights.resolve()
        problem = "does not exist" if not weights.exists() else "holds no artifacts (*.pt)"
        raise ArtifactError(
            f"{where}: {problem}; point VAE_WEIGHTS (or --weights) at an artifact or a folder"
        )
    return paths
