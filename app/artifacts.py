"""Load an artifact with torch.jit.load and check it against the contract (DESIGN.md, format 1).

`load_artifact` is the only function that knows the file format; a second format can be added
behind it without touching the routes.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

SUPPORTED_FORMAT_VERSIONS = (1,)
METADATA_FILE = "metadata.json"
REQUIRED_METADATA = (
    "format_version",
    "name",
    "image_shape",
    "latent_dim",
    "likelihood",
    "input_transform",
)
CONTRACT_METHODS = ("encode", "decode", "log_likelihood", "forward")
KNOWN_TRANSFORMS = ("binarize", "dequantize")


class StartupError(RuntimeError):
    """The service cannot start as configured; the message says why, in one line."""


class ArtifactError(StartupError):
    """An artifact that cannot be served; the message names the file and the problem."""


@dataclass
class LoadedModel:
    """One validated artifact, on its device, with what the routes need to know about it."""

    name: str
    path: Path
    module: torch.jit.ScriptModule
    metadata: dict[str, Any]
    device: torch.device
    sha256: str
    size_bytes: int
    image_shape: tuple[int, int, int] = field(init=False)
    latent_dim: int = field(init=False)

    def __post_init__(self) -> None:
        channels, height, width = self.metadata["image_shape"]
        self.image_shape = (int(channels), int(height), int(width))
        self.latent_dim = int(self.metadata["latent_dim"])

    @property
    def input_transform(self) -> str:
        return str(self.metadata["input_transform"])

    @property
    def class_latents(self) -> dict[str, dict[str, list[float]]]:
        return dict(self.metadata.get("class_latents") or {})

    def describe(self) -> dict[str, Any]:
        """The metadata plus where and what the file is: the body of GET /models/{name}."""
        return {
            **self.metadata,
            "device": str(self.device),
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
        }


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_metadata(path: Path, metadata: dict[str, Any]) -> None:
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ArtifactError(f"{path}: metadata.json lacks {', '.join(missing)}")
    if metadata["format_version"] not in SUPPORTED_FORMAT_VERSIONS:
        raise ArtifactError(
            f"{path}: unknown format_version {metadata['format_version']!r} "
            f"(this server reads {list(SUPPORTED_FORMAT_VERSIONS)})"
        )
    shape, latent_dim = metadata["image_shape"], metadata["latent_dim"]
    if not (
        isinstance(shape, list)
        and len(shape) == 3
        and all(isinstance(s, int) and s > 0 for s in shape)
    ):
        raise ArtifactError(f"{path}: image_shape must be [C, H, W], got {shape!r}")
    if not (isinstance(latent_dim, int) and latent_dim > 0):
        raise ArtifactError(f"{path}: latent_dim must be a positive integer, got {latent_dim!r}")
    if metadata["input_transform"] not in KNOWN_TRANSFORMS:
        raise ArtifactError(f"{path}: unknown input_transform {metadata['input_transform']!r}")


def _expect_shape(path: Path, method: str, value: object, shape: tuple[int, ...]) -> None:
    if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
        got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ArtifactError(f"{path}: {method} returned {got}, the contract says {shape}")


@torch.inference_mode()
def _probe(path: Path, model: LoadedModel) -> None:
    """Call every contract method on a batch of 2 and check the output shapes."""
    channels, height, width = model.image_shape
    x = torch.full((2, channels, height, width), 0.5, device=model.device)
    z = torch.zeros((2, model.latent_dim), device=model.device)
    try:
        encoded = model.module.encode(x)
        decoded = model.module.decode(z)
        log_lik = model.module.log_likelihood(x, z)
        forward = model.module.forward(x)
    except RuntimeError as error:
        raise ArtifactError(f"{path}: probe call failed: {str(error).splitlines()[0]}") from error
    if not (isinstance(encoded, tuple) and len(encoded) == 2):
        raise ArtifactError(f"{path}: encode must return (mean, logvar)")
    _expect_shape(path, "encode mean", encoded[0], (2, model.latent_dim))
    _expect_shape(path, "encode logvar", encoded[1], (2, model.latent_dim))
    _expect_shape(path, "decode", decoded, (2, channels, height, width))
    _expect_shape(path, "log_likelihood", log_lik, (2,))
    _expect_shape(path, "forward", forward, (2, channels, height, width))


def _check_archive(path: Path, digest: str, expected_sha256: str | None) -> None:
    """Refuse a file before torch reads it: wrong digest, or not a TorchScript zip of ours."""
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise ArtifactError(
            f"{path}: sha256 {digest} does not match the expected "
            f"{expected_sha256} (VAE_EXPECTED_SHA256)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        raise ArtifactError(
            f"{path}: not a readable TorchScript artifact (not a zip archive)"
        ) from None
    has_code = any("/code/" in name for name in names)
    has_metadata = any(name.endswith(f"/extra/{METADATA_FILE}") for name in names)
    if not (has_code and has_metadata):
        raise ArtifactError(
            f"{path}: not a readable TorchScript artifact of this service "
            "(needs TorchScript code and extra/metadata.json; a torch.save "
            "checkpoint is not an artifact)"
        )


def load_artifact(
    path: Path, device: torch.device, expected_sha256: str | None = None
) -> LoadedModel:
    """Load, validate and probe one artifact; raises ArtifactError naming the problem."""
    if not path.is_file():
        raise ArtifactError(f"{path}: no such file")
    digest = _file_digest(path)
    _check_archive(path, digest, expected_sha256)
    extra = {METADATA_FILE: ""}
    try:
        module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except Exception as error:  # torch raises several types for a corrupt archive
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ArtifactError(f"{path}: not a readable TorchScript artifact ({reason})") from error
    try:
        metadata = json.loads(extra[METADATA_FILE])
    except json.JSONDecodeError as error:
        raise ArtifactError(f"{path}: metadata.json is missing or not valid JSON") from error
    if not isinstance(metadata, dict):
        raise ArtifactError(f"{path}: metadata.json must hold a JSON object")
    _check_metadata(path, metadata)
    missing = [name for name in CONTRACT_METHODS if not hasattr(module, name)]
    if missing:
        raise ArtifactError(f"{path}: missing method(s) {', '.join(missing)}")
    loaded = LoadedModel(
        name=str(metadata["name"]),
        path=path,
        module=module.eval(),
        metadata=metadata,
        device=device,
        sha256=digest,
        size_bytes=path.stat().st_size,
    )
    _probe(path, loaded)
    return loaded


def find_artifacts(weights: Path) -> list[Path]:
    """A single file, or every *.pt in a folder (sorted); an empty result is an error."""
    paths = [weights] if weights.is_file() else sorted(weights.glob("*.pt"))
    if not paths:
        raise ArtifactError(f"{weights}: no artifacts (*.pt) found")
    return paths
