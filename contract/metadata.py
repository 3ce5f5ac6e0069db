"""metadata.json, as one pydantic model: the only validator of an artifact's metadata."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from contract.transforms import Transform
from contract.versions import SUPPORTED_FORMAT_VERSIONS


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
