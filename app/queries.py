"""The query parameters of each route, one pydantic model per route.

FastAPI validates a query model in one call, where a dozen separate parameters cost a dozen
(the dependency solving was the largest part of a request's time). `extra="forbid"` makes an
unknown parameter a 422 that names it (app.errors): a typo such as `?sed=4` must not silently
give a random seed. Limits that come from the settings (VAE_MAX_N, ...) are in app.limits.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.rendering import PNG_MEDIA_TYPES, Output
from app.schemas import MAX_SEED, Method, PriorChoice, SampleRequest, Seed
from contract.images import Invert, Preprocess

# Marks a query parameter that works but is left out of /openapi.json (app.openapi drops it).
UNDOCUMENTED = "x-undocumented"


class NoQuery(BaseModel):
    """A route that takes no query parameters (an unknown one is still a 422 that names it)."""

    model_config = ConfigDict(extra="forbid")


class ModelChoice(BaseModel):
    """What every model route takes: which model."""

    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(None, max_length=200, description="model name; default from settings")


class JsonOptions(ModelChoice):
    """The options of a `.json` route: base64 PNGs, upscaled."""

    scale: int = Field(
        1, ge=1, description="nearest-neighbour upscale factor (at most VAE_MAX_SCALE)"
    )

    def output(self, accept: str | None, max_values: int) -> Output:
        return Output(png=False, scale=self.scale, cols=None, max_values=max_values)


class PngOptions(JsonOptions):
    """The options of a PNG route. The legacy `?format=json` and `Accept: application/json`
    still answer JSON, undocumented."""

    cols: int | None = Field(
        None, ge=1, description="grid columns; default ceil(sqrt(n)) (at most VAE_MAX_COLS)"
    )
    format: Literal["png", "json"] | None = Field(None, json_schema_extra={UNDOCUMENTED: True})

    def output(self, accept: str | None, max_values: int) -> Output:
        wanted = (accept or "").lower()
        as_json = self.format == "json" or (
            self.format is None and "application/json" in wanted and "image/png" not in wanted
        )
        octets = "application/octet-stream" in wanted and "image/png" not in wanted
        return Output(
            png=not as_json,
            scale=self.scale,
            cols=self.cols,
            media_type=PNG_MEDIA_TYPES[1] if octets else PNG_MEDIA_TYPES[0],
            max_values=max_values,
        )


class SamplePngQuery(PngOptions, SampleRequest):
    """GET /sample."""


class SampleJsonQuery(JsonOptions, SampleRequest):
    """GET /sample.json."""


class AnimationOptions(ModelChoice):
    """How an animation (GIF or lossless WebP) plays."""

    scale: int = Field(
        1, ge=1, description="nearest-neighbour upscale factor (at most VAE_MAX_SCALE)"
    )
    fps: int = Field(
        10,
        ge=1,
        le=50,
        description="frames per second; GIF stores a frame's time in 10 ms steps, so it is "
        "rounded down to them there",
    )
    loop: int = Field(
        0, ge=0, le=65535, description="0: play forever; N: the loop count written into the file"
    )
    bounce: bool = Field(False, description="play from A to B, then back to A")


class InterpolateSeedsQuery(AnimationOptions, PriorChoice):
    """GET /interpolate.gif and .webp: from the sample of one seed to the sample of another."""

    seed_a: Seed = Field(description="end A: the image GET /sample?seed=seed_a gives")
    seed_b: Seed = Field(description="end B: the image GET /sample?seed=seed_b gives")
    steps: int = Field(
        16, ge=2, description="frames from A to B, both ends included (at most VAE_MAX_STEPS)"
    )
    method: Method = Method.slerp


class WalkQuery(AnimationOptions, SampleRequest):
    """GET /walk.gif and .webp: a loop through the n samples GET /sample?n=&seed= gives."""

    n: int = Field(4, ge=2, description="samples the loop passes through (at most VAE_MAX_N)")
    steps: int = Field(
        8, ge=1, description="frames from one sample to the next (at most VAE_MAX_STEPS)"
    )


class ImageOptions(ModelChoice):
    """How the routes that take images in read them."""

    invert: Invert = Field(
        Invert.auto,
        description="grey models: invert dark-on-light drawings; auto looks at the border. "
        "Colour models take auto only",
    )
    preprocess: Preprocess | None = Field(
        None,
        description="mnist (grey models only): remove the background, crop the ink, fit it "
        "into 20×20 and centre it by mass (for photos and drawings); fit (or its old name "
        "none): resize keeping the aspect ratio, pad with the background. Default: for grey "
        "models mnist for images that are not the model's size, fit for those that are; for "
        "colour models fit",
    )


class EncodeQuery(ImageOptions):
    """POST /encode."""

    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="seed for sampling")


class NpyOptions(ModelChoice):
    """The options of a `.npy` route: the numbers' type."""

    dtype: Literal["float32", "float16"] = Field(
        "float32", description="the answer's dtype (float16 halves its size)"
    )


class EncodeNpyQuery(NpyOptions, EncodeQuery):
    """POST /encode.npy."""


class ReconstructPngQuery(PngOptions, ImageOptions):
    """POST /reconstruct."""


class ReconstructJsonQuery(JsonOptions, ImageOptions):
    """POST /reconstruct.json."""


class ScoreQuery(EncodeQuery):
    """POST /score."""

    k: int = Field(100, ge=1, description="importance samples (at most VAE_MAX_SCORE_K)")
