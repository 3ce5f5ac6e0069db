"""Request and response bodies of the public API (DESIGN.md, "The public API's shapes")."""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from contract.metadata import IDENTITY_FIELDS, ArtifactMetadata

# A latent component beyond ±1000 prior standard deviations means nothing, and bounding it keeps
# every value finite in float32 through slerp and decoding.
MAX_LATENT_ABS = 1000.0
MAX_TEMPERATURE = 10.0
# Seeds round-trip through JavaScript numbers, which are exact up to 2^53 − 1.
MAX_SEED = 2**53 - 1
# Marks a latent vector in the schema; app.openapi sets its length to the loaded models' D.
LATENT_VECTOR = "x-latent-vector"
# Marks a latent grid; app.openapi bounds its sides by the loaded grid models' (or drops it when
# no loaded model takes grids).
LATENT_GRID = "x-latent-grid"
Latent = Annotated[
    list[Annotated[float, Field(ge=-MAX_LATENT_ABS, le=MAX_LATENT_ABS, allow_inf_nan=False)]],
    Field(json_schema_extra={LATENT_VECTOR: True}),
]
# A latent read as its grid [c][h][w] (models with latent_shape; any grid for a model that
# takes any picture size).
Component = Annotated[float, Field(ge=-MAX_LATENT_ABS, le=MAX_LATENT_ABS, allow_inf_nan=False)]
# No level may be empty (a grid of no channels, rows or columns decodes to nothing); that rows
# have one length a schema cannot say: app.latents answers a ragged grid with a 422.
GridRow = Annotated[list[Component], Field(min_length=1)]
GridChannel = Annotated[list[GridRow], Field(min_length=1)]
LatentGrid = Annotated[
    list[GridChannel],
    Field(
        min_length=1,
        description="one latent as its [c][h][w] grid",
        json_schema_extra={LATENT_GRID: True},
    ),
]
# In responses: slerp between two bounded vectors can step outside the bounds, so only the
# length is promised.
LatentOut = Annotated[list[float], Field(json_schema_extra={LATENT_VECTOR: True})]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]


class Prior(StrEnum):
    """What /sample draws z from: the fitted mixture or the standard normal N(0, I)."""

    fitted = "fitted"
    standard = "standard"


class Method(StrEnum):
    """How /interpolate walks from a to b: a straight line, or spherical (White 2016)."""

    linear = "linear"
    slerp = "slerp"


class PriorChoice(BaseModel):
    """Which distribution latents are drawn from, and how widely: /sample and the animations."""

    model_config = ConfigDict(extra="forbid")
    temperature: float = Field(
        1.0, gt=0, le=MAX_TEMPERATURE, allow_inf_nan=False, description="prior scale"
    )
    digit: int | None = Field(
        None, ge=0, le=9, description="sample this digit, from its per-class fitted mixture"
    )
    label: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="sample this class, from its per-class fitted mixture (GET /models: labels)",
    )
    prior: Prior | None = Field(
        None, description="fitted (default when the model has one) or standard N(0, I)"
    )


class SampleRequest(PriorChoice):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"n": 16, "seed": 42, "temperature": 1.0}]}
    )
    n: int = Field(1, ge=1, description="number of samples (at most VAE_MAX_N)")
    seed: Seed | None = Field(None, description="random when omitted")


class DecodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # app.openapi adds an example of the models' D
    latents: list[Latent | LatentGrid] = Field(
        min_length=1,
        description="latent vectors [[D], ...], or grids [[c][h][w], ...] (at most "
        "VAE_MAX_LATENTS)",
    )


class DecodeOneRequest(BaseModel):
    """One latent, not wrapped in a list: `{"latents": [0.1, ...]}` or one [c][h][w] grid."""

    model_config = ConfigDict(extra="forbid")
    latents: Latent | LatentGrid = Field(description="one latent vector [D], or one grid")


def _depth(value: object) -> int:
    """How deeply lists nest in `value` (along the first items): [0.1] is 1, [[[0.1]]] is 3."""
    depth = 0
    while isinstance(value, list) and value:
        depth, value = depth + 1, value[0]
    return depth


def decode_kind(value: object) -> str:
    """`one` for one latent (a flat `[D]` or a `[c][h][w]` grid), else `batch`: each shape is its
    own object schema, so generated clients get plain types rather than an ambiguous union."""
    latents = value.get("latents") if isinstance(value, dict) else None
    return "one" if _depth(latents) in (1, 3) else "batch"


class InterpolateFromLatents(BaseModel):
    model_config = ConfigDict(extra="forbid")  # app.openapi adds an example of the models' D
    latents: list[Latent | LatentGrid] = Field(
        min_length=2, max_length=2, description="the two ends [a, b], vectors or grids"
    )
    steps: int = Field(8, ge=2, description="images in the strip, both ends included")
    method: Method = Method.slerp


# Base64 (standard alphabet, padded or not), optionally as a data: URL.
Base64Image = Annotated[
    str,
    Field(
        min_length=1,
        pattern=r"^(data:[^,]*,)?[A-Za-z0-9+/]+={0,2}$",
        json_schema_extra={"format": "byte"},
    ),
]


class Base64Images(BaseModel):
    """The JSON form of an image upload (/encode, /reconstruct, /score)."""

    model_config = ConfigDict(extra="forbid")
    images: list[Base64Image] = Field(min_length=1, description="base64 PNG or JPEG strings")


class InterpolateFromImages(BaseModel):
    model_config = ConfigDict(extra="forbid")
    images: list[Base64Image] = Field(
        min_length=2, max_length=2, description="the two ends [a, b] as base64 PNG or JPEG"
    )
    steps: int = Field(8, ge=2, description="images in the strip, both ends included")
    method: Method = Method.slerp


def interpolate_kind(value: object) -> str:
    """Which request this is: the one with `images`, else the one with `latents`."""
    return "images" if isinstance(value, dict) and "images" in value else "latents"


class ErrorResponse(BaseModel):
    detail: str = Field(description="what was wrong, in one sentence")


class ImagesResponse(BaseModel):
    model: str
    images: list[str] = Field(description="base64 PNGs, no data: prefix")


class SampleResponse(ImagesResponse):
    seed: Seed
    prior: str = Field(
        description="what z was drawn from: fitted, standard, or class (label= or digit=)"
    )
    latents: list[LatentOut]


class InterpolateResponse(ImagesResponse):
    latents: list[LatentOut]


class EncodeResponse(BaseModel):
    model: str
    mean: list[list[float]] = Field(description="[N][D]: the posterior means")
    logvar: list[list[float]] = Field(description="[N][D]: the posterior log-variances")
    z: list[list[float]] | None = Field(
        None, description="[N][D]: a posterior sample, only with ?seed="
    )
    latent_shape: list[int] | None = Field(
        None,
        description="the grid [c, h, w] these D values are, for a model with one (c·h·w = D)",
    )


class ScoreResponse(BaseModel):
    model: str
    k: int
    seed: Seed
    neg_elbo: list[float] = Field(description="negative ELBO, nats per image")
    nll: list[float] = Field(description="importance-weighted NLL, nats per image")
    bits_per_dim: list[float] | None = Field(description="for dequantized models; else null")
    percentile: list[float] | None = Field(
        description="per image, the percentage of the model's val pictures with a lower NLL "
        "(0–100; high: unusual); null when the artifact has no val quantiles (format < 3)"
    )


class ServedFields(BaseModel):
    """What the server adds to an artifact's metadata."""

    sample_priors: list[str] = Field(description="the values /sample?prior= takes")
    sizes: dict[str, int] | None = Field(
        description="a model that takes any picture size: sides are multiples of `multiple` "
        "within [min, max] px, and a picture of H×W has the latent [c, H/factor, W/factor]; "
        "null: image_shape only"
    )
    can_score: bool = Field(description="whether /score works: the model has a likelihood")
    can_sample: bool = Field(
        description="whether /sample works: a fitted prior, or N(0, I) draws that are pictures"
    )
    labels: list[str] = Field(description="the values /sample?label= takes")
    digits: list[str] = Field(description="the values /sample?digit= takes")
    device: str = Field(description="where the model runs: cpu, cuda:0, ...")
    sha256: str = Field(description="the artifact file's digest")
    size_bytes: int


def _required(name: str) -> tuple[Any, FieldInfo]:
    """The metadata's field `name`, required: a summary always carries it."""
    declared = copy.copy(ArtifactMetadata.model_fields[name])
    declared.default, declared.default_factory = PydanticUndefined, None
    return declared.annotation, declared


ModelIdentity: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "ModelIdentity",
    __doc__="What a model is, in a few fields.",
    **{name: _required(name) for name in IDENTITY_FIELDS},
)


class ModelSummary(ServedFields, ModelIdentity):
    """One item of GET /models: enough to choose a model and call it."""


class ModelDetail(ServedFields, ArtifactMetadata):
    """GET /models/{name}: the artifact's whole metadata (metrics, training, priors, ...)."""


class ModelList(BaseModel):
    default: str = Field(description="the model used without ?model=")
    models: list[ModelSummary]


class Health(BaseModel):
    status: str
