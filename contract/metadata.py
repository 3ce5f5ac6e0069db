"""metadata.json, as one pydantic model: the only validator of an artifact's metadata."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from contract.containers import EXPORT
from contract.transforms import Transform
from contract.versions import NO_LIKELIHOOD, SUPPORTED_FORMAT_VERSIONS


class DatasetInfo(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    split: str
    size: Annotated[int, Field(ge=0)]
    # Format 3: each class's name and its number of training pictures.
    labels: dict[str, Annotated[int, Field(ge=0)]] | None = None


class ScoreReference(BaseModel):
    """Format 3: the 0th…100th percentiles of the val pictures' NLLs, for /score percentiles."""

    k: PositiveInt = Field(description="importance samples behind the NLLs")
    split: str
    quantiles: list[float] = Field(min_length=101, max_length=101, description="nats")

    @model_validator(mode="after")
    def non_decreasing(self) -> ScoreReference:
        if any(b < a for a, b in zip(self.quantiles, self.quantiles[1:], strict=False)):
            raise ValueError("score_reference.quantiles must be non-decreasing")
        return self


Level = Annotated[int, Field(ge=0, le=255)]
WHITE: tuple[int, int, int] = (255, 255, 255)


class Sizes(BaseModel):
    """Format 4: a fully convolutional model takes any picture whose sides are multiples of
    `multiple` within [min, max] px; a picture of H×W has a latent grid of
    [latent_shape[0], H / factor, W / factor]. `image_shape` and `latent_shape` are then its
    default size (what /sample draws and the fitted prior fits)."""

    factor: PositiveInt = Field(description="picture side / latent side")
    multiple: PositiveInt = Field(description="every picture side is a multiple of this")
    min: PositiveInt = Field(description="smallest picture side, px")
    max: PositiveInt = Field(description="largest picture side, px")

    @model_validator(mode="after")
    def consistent(self) -> Sizes:
        if self.multiple % self.factor or self.min > self.max or self.min % self.multiple:
            raise ValueError(
                "sizes: multiple must be a multiple of factor, and min a multiple of "
                "multiple, at most max"
            )
        return self

    def grid(self, channels: int, height: int, width: int) -> tuple[int, int, int]:
        """The latent grid of an H×W picture."""
        return channels, height // self.factor, width // self.factor

    def takes(self, height: int, width: int) -> bool:
        return all(
            self.min <= side <= self.max and side % self.multiple == 0 for side in (height, width)
        )


class LatentScaling(BaseModel):
    """Format 4, provenance: the served latents are (mean − shift_factor) · scaling_factor of
    the source model's, as diffusers' pipelines scale them; the artifact's methods already
    apply it."""

    model_config = ConfigDict(extra="allow")
    scaling_factor: float
    shift_factor: float = 0.0


class CallRows(BaseModel):
    """Format 4: the fewest and most rows one call of this model's methods takes (what its
    exported programs were traced to allow); the server pads or splits batches to fit."""

    min: PositiveInt = 1
    max: PositiveInt | None = None


class ClassStats(BaseModel):
    """Format 1's per-class statistics of the encoder means (a diagonal Gaussian)."""

    mean: list[float]
    var: list[Annotated[float, Field(ge=0)]]


class PriorInfo(BaseModel):
    """How a fitted mixture in priors.pt was made; its tensors live in that file."""

    model_config = ConfigDict(extra="allow")
    components: PositiveInt = Field(description="K of the mixture (per class for `class`)")
    covariance: str = "full"
    fitted_on: str = Field(description="which codes, e.g. 'encoder means of train-5k'")
    labels: list[str] | None = Field(None, description="the classes, for the `class` prior")


# What a model is, in a few fields (GET /models lists these of each model's metadata).
IDENTITY_FIELDS = (
    "name",
    "description",
    "format_version",
    "image_shape",
    "latent_dim",
    "latent_shape",
    "likelihood",
    "input_transform",
    "dataset",
    "background",
    "credits",
)


class ArtifactMetadata(BaseModel):
    """Everything the service learns about a model besides its methods (docs/artifact.md)."""

    model_config = ConfigDict(extra="allow")

    format_version: int
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str
    image_shape: tuple[PositiveInt, PositiveInt, PositiveInt] = Field(
        description="channels, height, width"
    )
    latent_dim: PositiveInt = Field(description="D: the length of every latent vector")
    # Optional, any format: the networks read z as a c×h×w grid, flattened in (c, h, w) order.
    latent_shape: tuple[PositiveInt, PositiveInt, PositiveInt] | None = Field(
        None, description="the latent as a [c, h, w] grid (c·h·w = latent_dim); null: flat"
    )
    likelihood: str
    input_transform: Transform
    dataset: DatasetInfo
    metrics: dict[str, Any]
    training: dict[str, Any]
    created: str
    torch_version: str
    # Format 1 only: a diagonal Gaussian per class, for /sample?digit=.
    class_latents: dict[str, ClassStats] | None = None
    # Format 2: what priors.pt holds, by prior name ("fitted", "class").
    priors: dict[str, PriorInfo] = Field(default_factory=dict)
    # Format 3: what transparent pixels of an upload are composited over (colour models).
    background: tuple[Level, Level, Level] = Field(
        WHITE, description="what transparent pixels become (RGB)"
    )
    # Format 3: attribution the data's licences require, shown by /models and the README.
    credits: list[str] = Field(
        default_factory=list, description="attribution the training data's licences require"
    )
    # Format 3, Gaussian likelihood: pixel, image, shared or edge-floor (docs/artifact.md).
    decoder_variance: str | None = None
    score_reference: ScoreReference | None = None
    # Format 4: what the file holds (torchscript or torch.export; the loader reads the file).
    container: str | None = None
    # Format 4: any picture size (fully convolutional models); None: image_shape only.
    sizes: Sizes | None = None
    latent_scaling: LatentScaling | None = None
    # Format 4: whether N(0, I) draws decode to pictures (False for a diffusion model's
    # autoencoder: /sample then needs a fitted prior).
    standard_prior: bool = True
    call_rows: CallRows | None = None

    @model_validator(mode="before")
    @classmethod
    def known_version(cls, raw: Any) -> Any:
        """An unknown version is the whole story: the other keys may mean anything there."""
        version = raw.get("format_version") if isinstance(raw, dict) else None
        if version not in SUPPORTED_FORMAT_VERSIONS:
            raise ValueError(
                f"unknown format_version {version!r} "
                f"(this code reads {list(SUPPORTED_FORMAT_VERSIONS)})"
            )
        return raw

    @model_validator(mode="after")
    def consistent(self) -> ArtifactMetadata:
        for label, stats in (self.class_latents or {}).items():
            if len(stats.mean) != self.latent_dim or len(stats.var) != self.latent_dim:
                raise ValueError(f"class_latents[{label!r}] must hold mean and var of length D")
        if self.priors and self.format_version < 2:
            raise ValueError("fitted priors need format_version 2")
        if self.latent_shape is not None:
            c, h, w = self.latent_shape
            if c * h * w != self.latent_dim:
                raise ValueError(
                    f"latent_shape {list(self.latent_shape)} holds {c * h * w} values; "
                    f"latent_dim is {self.latent_dim}"
                )
        if self.format_version < 4 and (
            self.likelihood == NO_LIKELIHOOD
            or self.sizes is not None
            or not self.standard_prior
            or self.container == EXPORT
        ):
            raise ValueError(
                "models without a likelihood, of any size, without a usable standard prior, "
                "or in the torch.export container need format_version 4"
            )
        if (self.likelihood == NO_LIKELIHOOD) != (self.input_transform == "none"):
            raise ValueError("likelihood 'none' goes with input_transform 'none', and only it")
        if self.sizes is not None:
            _, height, width = self.image_shape
            if self.latent_shape is None or not self.sizes.takes(height, width):
                raise ValueError(
                    "a model with sizes needs latent_shape, and image_shape must be a size it takes"
                )
            if self.sizes.grid(*self.latent_shape[:1], height, width) != self.latent_shape:
                raise ValueError("latent_shape must be image_shape's grid (sizes.factor)")
        if self.image_shape[0] not in (1, 3):
            raise ValueError(f"image_shape has {self.image_shape[0]} channels; 1 or 3 are served")
        if self.image_shape[0] == 3 and self.format_version < 3:
            raise ValueError("colour models (C = 3) need format_version 3")
        if self.likelihood == "bernoulli" and self.image_shape[0] != 1:
            raise ValueError("the bernoulli likelihood is for grey models (C = 1)")
        unknown = sorted(set(self.priors) - {"fitted", "class"})
        if unknown:
            raise ValueError(f"unknown prior(s) {unknown}; known: fitted, class")
        return self

    @property
    def has_likelihood(self) -> bool:
        return self.likelihood != NO_LIKELIHOOD

    def latent_grid_of(self, height: int, width: int) -> tuple[int, int, int] | None:
        """The latent grid of an H×W picture: latent_shape at image_shape's size, scaled for a
        model with `sizes`; None for a flat latent."""
        if self.latent_shape is None:
            return None
        if self.sizes is None:
            return self.latent_shape
        return self.sizes.grid(self.latent_shape[0], height, width)

    def as_json(self) -> dict[str, Any]:
        """The metadata as plain JSON values, extra keys included."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)


def validation_summary(error: Exception) -> str:
    """A pydantic ValidationError as one line: 'latent_dim: Input should be ...; ...'."""
    errors = getattr(error, "errors", None)
    if errors is None:
        return str(error)
    parts = []
    for item in errors():
        where = ".".join(str(p) for p in item.get("loc", ())) or "metadata"
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where != "metadata" else message)
    return "; ".join(parts)
