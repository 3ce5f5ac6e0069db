"""Save and load an artifact: TorchScript with metadata.json (and, in format 2, priors.pt) inside.

These two functions are the only code that knows the file format, so another format
(torch.export) can be added behind them later. Loading refuses, with one line naming the file
and the problem, anything that breaks the contract: not our archive, metadata that does not
validate, missing methods, outputs of the wrong shape, or a malformed prior.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from torch import nn

from contract.errors import ArtifactError
from contract.metadata import ArtifactMetadata, validation_summary
from contract.priors import GaussianMixture, Priors
from contract.versions import CONTRACT_METHODS, FORMAT_VERSION, METADATA_FILE, PRIORS_FILE


@dataclass(frozen=True)
class Artifact:
    """A loaded, validated artifact."""

    path: Path
    module: torch.jit.ScriptModule
    metadata: ArtifactMetadata
    priors: Priors


def _validated(metadata: dict[str, Any], where: str) -> ArtifactMetadata:
    try:
        return ArtifactMetadata.model_validate(metadata)
    except ValidationError as error:
        raise ArtifactError(f"{where}: {validation_summary(error)}") from None


def _check_prior_names(metadata: ArtifactMetadata, priors: Priors, where: str) -> None:
    """The metadata's `priors` must describe exactly what priors.pt holds."""
    tensors = priors.to_tensors()
    held = {name.split("/")[0] for name in tensors}
    if held != set(metadata.priors):
        raise ArtifactError(
            f"{where}: metadata lists priors {sorted(metadata.priors)} "
            f"but {PRIORS_FILE} holds {sorted(held)}"
        )
    labels = metadata.priors["class"].labels if "class" in metadata.priors else None
    if labels is not None and sorted(labels) != sorted(priors.classes):
        raise ArtifactError(f"{where}: class prior labels differ from {PRIORS_FILE}")


def save_artifact(
    module: nn.Module | torch.jit.ScriptModule,
    metadata: dict[str, Any],
    path: str | Path,
    priors: Priors | None = None,
) -> Path:
    """Script `module` (unless it already is) and write it with its metadata and priors.

    Refuses metadata or priors that break the contract, so a bad artifact is never written.
    """
    target = Path(path)
    raw = {**metadata, "format_version": FORMAT_VERSION}
    checked = _validated(raw, f"refusing to export {target}")
    priors = priors or Priors(checked.latent_dim)
    problems = priors.problems()
    if problems:
        raise ArtifactError(f"refusing to export {target}: " + "; ".join(problems))
    _check_prior_names(checked, priors, f"refusing to export {target}")
    if isinstance(module, torch.jit.ScriptModule):
        scripted = module
    else:
        was_training = module.training
        scripted = torch.jit.script(module.cpu().eval())
        module.train(was_training)
    extra: dict[str, str | bytes] = {METADATA_FILE: json.dumps(raw, indent=1, sort_keys=True)}
    tensors = priors.to_tensors()
    if tensors:
        buffer = io.BytesIO()
        torch.save(tensors, buffer)
        extra[PRIORS_FILE] = buffer.getvalue()
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(scripted, str(target), _extra_files=extra)
    return target


def _check_archive(path: Path, data: bytes) -> None:
    """Refuse a file before torch reads it unless it is a TorchScript zip of ours."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
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


def _read_priors(path: Path, metadata: ArtifactMetadata, raw: bytes | str) -> Priors:
    """priors.pt (format 2), checked; format 1's `class_latents` as one-component mixtures."""
    priors = Priors(metadata.latent_dim)
    if metadata.priors:
        if not raw:
            raise ArtifactError(
                f"{path}: metadata lists priors but the archive has no {PRIORS_FILE}"
            )
        payload = raw.encode("latin-1") if isinstance(raw, str) else raw
        try:
            tensors = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
            priors = Priors.from_tensors(metadata.latent_dim, tensors)
        except Exception as error:  # torch raises several types for a damaged file
            raise ArtifactError(f"{path}: {PRIORS_FILE} is not readable ({error})") from None
        problems = priors.problems()
        if problems:
            raise ArtifactError(f"{path}: malformed prior: " + "; ".join(problems))
    _check_prior_names(metadata, priors, str(path))
    if metadata.class_latents and not priors.classes:
        classes = {
            label: GaussianMixture.diagonal(torch.tensor(stats.mean), torch.tensor(stats.var))
            for label, stats in metadata.class_latents.items()
        }
        priors = Priors(priors.latent_dim, priors.fitted, classes)
    return priors


@torch.inference_mode()
def _probe(path: Path, module: torch.jit.ScriptModule, metadata: ArtifactMetadata) -> None:
    """Call every contract method on a batch of 2 and check the output shapes."""
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    image = (2, *metadata.image_shape)
    x = torch.full(image, 0.5, device=device)
    z = torch.zeros((2, metadata.latent_dim), device=device)
    try:
        encoded = module.encode(x)
        outputs = {
            "decode": (module.decode(z), image),
            "log_likelihood": (module.log_likelihood(x, z), (2,)),
            "forward": (module.forward(x), image),
        }
    except RuntimeError as error:
        raise ArtifactError(f"{path}: probe call failed: {str(error).splitlines()[0]}") from error
    if not (isinstance(encoded, tuple) and len(encoded) == 2):
        raise ArtifactError(f"{path}: encode must return (mean, logvar)")
    outputs["encode mean"] = (encoded[0], (2, metadata.latent_dim))
    outputs["encode logvar"] = (encoded[1], (2, metadata.latent_dim))
    for method, (value, shape) in outputs.items():
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ArtifactError(f"{path}: {method} returned {got}, the contract says {shape}")


def load_artifact(
    path: str | Path, map_location: str | torch.device = "cpu", data: bytes | None = None
) -> Artifact:
    """Load one artifact and check it against the contract; raises ArtifactError. `data`: the
    file's bytes, when the caller has read them already (to check their digest): then exactly
    those bytes are loaded, not the file read a second time."""
    source = Path(path)
    if data is None:
        if not source.is_file():
            raise ArtifactError(f"{source}: no such file")
        data = source.read_bytes()
    _check_archive(source, data)
    extra: dict[str, Any] = {METADATA_FILE: "", PRIORS_FILE: ""}
    try:
        module = torch.jit.load(io.BytesIO(data), map_location=map_location, _extra_files=extra)
    except Exception as error:  # torch raises several types for a corrupt archive
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ArtifactError(f"{source}: not a readable TorchScript artifact ({reason})") from None
    try:
        raw = json.loads(extra[METADATA_FILE])
    except json.JSONDecodeError:
        raise ArtifactError(f"{source}: metadata.json is missing or not valid JSON") from None
    if not isinstance(raw, dict):
        raise ArtifactError(f"{source}: metadata.json must hold a JSON object")
    metadata = _validated(raw, str(source))
    missing = [name for name in CONTRACT_METHODS if not hasattr(module, name)]
    if missing:
        raise ArtifactError(f"{source}: missing method(s) {', '.join(missing)}")
    priors = _read_priors(source, metadata, extra[PRIORS_FILE])
    _probe(source, module.eval(), metadata)
    return Artifact(source, module, metadata, priors)
