"""The artifact: TorchScript with metadata.json inside (format 1 of ../shared/DESIGN.md).

`save_artifact` and `load_artifact` are the only two places that know the file format, so a
second format (torch.export) can be added behind them later.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT_VERSION = 1
METADATA_FILE = "metadata.json"
REQUIRED_METADATA = (
    "format_version",
    "name",
    "description",
    "image_shape",
    "latent_dim",
    "likelihood",
    "input_transform",
    "dataset",
    "metrics",
    "training",
    "created",
    "torch_version",
)
CONTRACT_METHODS = ("encode", "decode", "log_likelihood", "forward")


class ArtifactError(ValueError):
    """An artifact or its metadata does not follow the contract; the message names the problem."""


def metadata_problems(metadata: dict[str, Any]) -> list[str]:
    """Everything wrong with a metadata dict, as human-readable lines (empty when valid)."""
    problems = [f"missing key {key!r}" for key in REQUIRED_METADATA if key not in metadata]
    if metadata.get("format_version", FORMAT_VERSION) != FORMAT_VERSION:
        problems.append(f"unknown format_version {metadata['format_version']!r}")
    shape = metadata.get("image_shape", [1, 1, 1])
    if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(s, int) for s in shape)):
        problems.append(f"image_shape must be [C, H, W] integers, got {shape!r}")
    latent_dim = metadata.get("latent_dim", 1)
    if not (isinstance(latent_dim, int) and latent_dim > 0):
        problems.append(f"latent_dim must be a positive integer, got {latent_dim!r}")
    for digit, stats in metadata.get("class_latents", {}).items():
        if len(stats.get("mean", [])) != latent_dim or len(stats.get("var", [])) != latent_dim:
            problems.append(f"class_latents[{digit!r}] must hold mean and var of length D")
    return problems


def save_artifact(model: nn.Module, metadata: dict[str, Any], path: str | Path) -> Path:
    """Script `model` and write it with its metadata; refuses metadata that breaks the contract."""
    metadata = {"format_version": FORMAT_VERSION, **metadata}
    problems = metadata_problems(metadata)
    if problems:
        raise ArtifactError(f"refusing to export {path}: " + "; ".join(problems))
    was_training = model.training
    scripted = torch.jit.script(model.cpu().eval())
    model.train(was_training)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(metadata, indent=1, sort_keys=True)
    torch.jit.save(scripted, str(target), _extra_files={METADATA_FILE: payload})
    return target


def load_artifact(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """Load an artifact and its metadata, checking both against the contract."""
    extra = {METADATA_FILE: ""}
    try:
        module = torch.jit.load(str(path), map_location=map_location, _extra_files=extra)
    except (RuntimeError, ValueError) as error:
        raise ArtifactError(f"{path}: not a TorchScript archive ({error})") from error
    try:
        metadata = json.loads(extra[METADATA_FILE])
    except json.JSONDecodeError as error:
        raise ArtifactError(f"{path}: metadata.json is missing or not JSON") from error
    problems = metadata_problems(metadata)
    problems += [f"missing method {m!r}" for m in CONTRACT_METHODS if not hasattr(module, m)]
    if problems:
        raise ArtifactError(f"{path}: " + "; ".join(problems))
    return module.eval(), metadata


def code_version() -> str:
    """The git commit the code was at (with `-dirty` for local changes), or 'unknown'."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "model"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
