"""All configuration, from environment variables prefixed VAE_, read once into one typed object."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob the service has; the settings table in docs/deployment.md mirrors this class."""

    model_config = SettingsConfigDict(env_prefix="VAE_", env_file=".env", extra="ignore")

    weights: Path = Field(Path("weights"), description="artifact file, or folder of *.pt artifacts")
    default_model: str | None = Field(
        None,
        description="model used without ?model=; default: mnist-bernoulli when it is loaded, "
        "else the first by name",
    )
    device: str = Field("auto", description="auto (CUDA when available), cpu, cuda or cuda:N")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        "info", description="critical, error, warning, info or debug (any case)"
    )
    workers: int = Field(
        1, ge=1, le=64, description="server processes, each with its own copy of the models"
    )
    access_log: bool = Field(True, description="one JSON log line per request (at info level)")

    max_n: int = Field(64, ge=1, description="most samples per /sample request")
    max_steps: int = Field(64, ge=2, description="most images in an interpolation")
    max_scale: int = Field(16, ge=1, description="largest ?scale= upscale factor")
    max_cols: int = Field(64, ge=1, description="largest ?cols=")
    max_images: int = Field(64, ge=1, description="most images per request")
    max_latents: int = Field(256, ge=1, description="most latent vectors per /decode request")
    max_score_k: int = Field(1000, ge=1, description="largest ?k= for /score")
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="largest request body")
    max_image_pixels: int = Field(4096 * 4096, ge=1, description="largest decoded image (w*h)")
    max_request_pixels: int = Field(
        4096 * 4096,
        ge=1,
        description="most pixels decoded from one request's images, summed (w*h of each)",
    )
    max_decoding_pixels: int = Field(
        4 * 4096 * 4096,
        ge=1,
        description="pixels being decoded from uploads at once, all requests together; more: 429",
    )
    max_header_bytes: int = Field(
        16 * 1024,
        ge=1024,
        description="largest request head (all header names and values); more: 431",
    )
    max_output_values: int = Field(
        2 * 1024 * 1024,
        ge=1,
        description="largest answer in pixels × channels, after ?scale=, summed over its images",
    )

    max_frames: int = Field(256, ge=2, description="most frames in one animation")
    max_animation_pixels: int = Field(
        16 * 1024 * 1024,
        ge=1,
        description="largest animation in pixels, after ?scale=, summed over its frames",
    )
    cache_max_age: int = Field(
        31536000,
        ge=0,
        description="seconds caches may keep a seeded answer (Cache-Control max-age); "
        "0: they must revalidate each time",
    )
    queue_size: int = Field(
        256, ge=1, description="model calls admitted per device (waiting or running) before 429"
    )
    heavy_queue_size: int = Field(
        8,
        ge=1,
        description="most large answers waiting to be encoded, /score calls waiting to run, "
        "and large JSON bodies being parsed, each; more: 429",
    )
    max_batch_size: int = Field(256, ge=1, description="most rows in one batched model call")
    call_rows: int = Field(
        16,
        ge=0,
        le=1024,
        description="rows drawn from a seed run in calls of a multiple of this many rows "
        "(padded), so that a seeded answer's bytes never depend on what shares its batch; "
        "0: calls of any size, and seeded answers get weak ETags",
    )
    max_wait_ms: float = Field(
        0.0, ge=0, le=1000, description="how long a batch waits for more requests; 0: no wait"
    )
    torch_threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="intra-op threads of the inference thread; unset: torch's default "
        "(with VAE_WORKERS > 1: the CPUs divided among the workers)",
    )
    request_timeout_s: float = Field(30.0, gt=0, description="a request waiting longer gets 504")
    shutdown_grace_s: float = Field(
        20.0,
        ge=0,
        description="after SIGTERM: queued work still runs this long, then is answered 503, "
        "and the process exits",
    )

    half_precision: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated model names whose calls run in float16 on a CUDA GPU "
        "(about twice the throughput of a large decoder; outputs stay float32); ignored on "
        "the CPU",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated allowed origins; empty disables CORS"
    )
    expected_sha256: dict[str, str] = Field(
        default_factory=dict,
        description='JSON {"file.pt": "sha256 hex"}: refuse an artifact whose digest differs',
    )
    body_timeout_s: float = Field(
        10.0, gt=0, description="a client slower than this to send its body gets 408"
    )
    api_key: SecretStr | None = Field(None, description="when set, required on all but probes")

    @model_validator(mode="after")
    def decoding_fits_a_request(self) -> Settings:
        """A request within VAE_MAX_REQUEST_PIXELS must fit the uploads stage, or it could
        never run."""
        if self.max_decoding_pixels < self.max_request_pixels:
            raise ValueError(
                "VAE_MAX_DECODING_PIXELS must be at least VAE_MAX_REQUEST_PIXELS "
                f"({self.max_decoding_pixels} < {self.max_request_pixels})"
            )
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def lower_case_level(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("cors_origins", "half_precision", mode="before")
    @classmethod
    def split_origins(cls, value: object) -> object:
        """`VAE_CORS_ORIGINS=https://a.example,https://b.example` → a list (and model names)."""
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings()
