"""Request and response bodies of the public API (DESIGN.md, "The public API's shapes")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contract.metadata import ArtifactMetadata, DatasetInfo

# A latent component beyond ±1000 prior standard deviations means nothing, and bounding it keeps
# every value finite in float32 through slerp and decoding.
MAX_LATENT_ABS = 1000.0
MAX_TEMPERATURE = 10.0
Latent = list[Annotated[float, Field(ge=-MAX_LATENT_ABS, le=MAX_LATENT_ABS, allow_inf_nan=False)]]
Seed = int
PriorName = Literal["fitted", "standard"]
MAX_SEED = 2**63 - 1


class SampleRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"n": 16, "seed": 42, "temperature": 1.0}]}
    )
    n: int = Field(1, ge=1, description="number of samples (bounded by VAE_MAX_N)")
    seed: Seed | None = Field(None, ge=0, le=MAX_SEED, description="random when omitted")
    temperature: float = Field(
        1.0, gt=0, le=MAX_TEMPERATURE, allow_inf_nan=False, description="prior scale"
    )
    digit: int | None = Field(
        None, ge=0, le=9, description="sample this digit, from its per-class fitted mixture"
    )
    prior: PriorName | None = Field(
        None, description="fitted (default when the model has one) or standard N(0, I)"
    )


class DecodeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"latents": [[0.0] * 32]}]}
    )
    latents: list[Latent] = Field(description="[[D]...]; one [D] vector is also accepted")

    @field_validator("latents", mode="before")
    @classmethod
    def one_vector_is_a_batch(cls, value: object) -> object:
        """`[0.1, 0.2, ...]` means one latent: wrap it so errors point at the right place."""
        if isinstance(value, list) and value and not isinstance(value[0], list):
            return [value]
        return value


class InterpolateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"latents": [[-1.0] * 32, [1.0] * 32], "steps": 8, "method": "slerp"}]
        },
    )
    latents: list[Latent] | None = Field(None, description="two latent vectors [a, b]")
    images: list[str] | None = Field(None, description="two base64 images [a, b]")
    steps: int = Field(8, ge=2, description="images in the strip, both ends included")
    method: Literal["linear", "slerp"] = "slerp"


class ErrorResponse(BaseModel):
    detail: str = Field(description="what was wrong, in one sentence")


class ImagesResponse(BaseModel):
    model: str
    images: list[str] = Field(description="base64 PNGs, no data: prefix")


class SampleResponse(ImagesResponse):
    seed: Seed
    prior: str = Field(description="what z was drawn from: fitted, standard, or class (digit=)")
    latents: list[list[float]]


class InterpolateResponse(ImagesResponse):
    latents: list[list[float]]


class EncodeResponse(BaseModel):
    model: str
    mean: list[list[float]]
    logvar: list[list[float]]
    z: list[list[float]] | None = Field(None, description="a posterior sample, with ?seed=")


class ScoreResponse(BaseModel):
    model: str
    k: int
    seed: Seed
    neg_elbo: list[float] = Field(description="negative ELBO, nats per image")
    nll: list[float] = Field(description="importance-weighted NLL, nats per image")
    bits_per_dim: list[float] | None = Field(description="for dequantized models; else null")


class Served(BaseModel):
    """What the server adds to an artifact's metadata."""

    sample_priors: list[str] = Field(description="the values /sample?prior= takes")
    digits: list[str] = Field(description="the values /sample?digit= takes")
    device: str = Field(description="where the model runs: cpu, cuda:0, ...")
    sha256: str = Field(description="the artifact file's digest")
    size_bytes: int


class ModelIdentity(BaseModel):
    """What a model is, in a few fields."""

    name: str
    description: str
    format_version: int
    image_shape: tuple[int, int, int] = Field(description="channels, height, width")
    latent_dim: int = Field(description="D: the length of every latent vector")
    likelihood: str
    input_transform: str
    dataset: DatasetInfo


class ModelSummary(Served, ModelIdentity):
    """One item of GET /models: enough to choose a model and call it."""


class ModelDetail(Served, ArtifactMetadata):
    """GET /models/{name}: the artifact's whole metadata (metrics, training, priors, ...)."""


class ModelList(BaseModel):
    default: str = Field(description="the model used without ?model=")
    models: list[ModelSummary]


class Health(BaseModel):
    status: str
