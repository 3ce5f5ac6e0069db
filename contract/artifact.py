"""Save and load an artifact: the model's methods, metadata.json and (format 2) priors.pt, in
one of two containers (contract.containers): TorchScript, or torch.export (format 4).

These two functions are the only code that reads or writes the file. The loader tells the
container from the file's contents, not its name. Loading refuses, with one line naming the
file and the problem, anything that breaks the contract: not our archive, metadata that does
not validate, missing methods, outputs of the wrong shape, or a malformed prior.
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
from torch import Tensor, nn
from torch.export import Dim

from contract.containers import (
    CONTAINERS,
    EXPORT,
    TORCHSCRIPT,
    container_of,
    export_methods,
    read_exported,
    write_exported,
)
from contract.errors import ArtifactError
from contract.metadata import ArtifactMetadata, validation_summary
from contract.priors import GaussianMixture, Priors
from contract.versions import (
    CONTRACT_METHODS,
    FORMAT_VERSION,
    METADATA_FILE,
    NO_LIKELIHOOD,
    PRIORS_FILE,
)


@dataclass(frozen=True)
class Artifact:
    """A loaded, validated artifact. `module` has the contract methods: a ScriptModule, or a
    contract.containers.ExportedModel."""

    path: Path
    module: Any
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


def format_version_of(metadata: dict[str, Any], container: str) -> int:
    """4 when the artifact uses something only format 4 has, else 3 (so earlier servers, which
    read up to 3, still serve it)."""
    needs_four = (
        container == EXPORT
        or metadata.get("likelihood") == NO_LIKELIHOOD
        or metadata.get("sizes") is not None
        or metadata.get("standard_prior") is False
    )
    return FORMAT_VERSION if needs_four else 3


def _example_inputs(
    metadata: ArtifactMetadata,
) -> tuple[dict[str, tuple[Tensor, ...]], dict[str, tuple[dict[int, Any], ...]]]:
    """Example inputs of each method for torch.export, and which of their dimensions vary: the
    batch always, height and width for a model that takes any size (in steps of `multiple`)."""
    image = torch.rand(2, *metadata.image_shape)
    grid = metadata.latent_grid_of(*metadata.image_shape[1:])
    sized = metadata.sizes is not None and grid is not None
    z = torch.randn(2, *grid) if sized and grid is not None else torch.randn(2, metadata.latent_dim)
    batch = {0: Dim.AUTO}
    spatial = {0: Dim.AUTO, 2: Dim.AUTO, 3: Dim.AUTO} if sized else batch
    examples: dict[str, tuple[Tensor, ...]] = {"encode": (image,), "decode": (z,)}
    dynamic: dict[str, tuple[dict[int, Any], ...]] = {"encode": (spatial,), "decode": (spatial,)}
    if metadata.has_likelihood:
        examples["log_likelihood"] = (image, z)
        dynamic["log_likelihood"] = (spatial, spatial)
    return examples, dynamic


def _finite(bound: Any) -> int | None:
    """A sympy bound as an int; None for infinity (torch's int_oo)."""
    try:
        return int(bound)
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None


def _batch_range(programs: dict[str, torch.export.ExportedProgram]) -> dict[str, int | None]:
    """The rows every program takes: the tightest of their batch dimensions' ranges."""
    low, high = 1, None
    for program in programs.values():
        for node in program.graph.nodes:
            if node.op != "placeholder" or node.name not in program.graph_signature.user_inputs:
                continue
            size = node.meta["val"].shape[0]
            bounds = (
                program.range_constraints.get(size.node.expr)
                if isinstance(size, torch.SymInt)
                else None
            )
            upper = _finite(bounds.upper) if bounds is not None else None
            if bounds is None or upper == int(bounds.lower):
                raise ArtifactError(
                    f"exporting fixed the batch size at {size}: the model turns its input's "
                    "batch into a Python number somewhere (len(x), int(x.shape[0]), ...); "
                    "write x.reshape(-1, ...) or x.flatten(1) instead"
                )
            low = max(low, int(bounds.lower))
            if upper is not None:
                high = upper if high is None else min(high, upper)
    return {"min": low, "max": high}


def save_artifact(
    module: nn.Module | torch.jit.ScriptModule,
    metadata: dict[str, Any],
    path: str | Path,
    priors: Priors | None = None,
    container: str = TORCHSCRIPT,
) -> Path:
    """Write `module` with its metadata and priors: scripted (unless it already is) into the
    TorchScript container, or each contract method exported into the torch.export one.

    Refuses metadata or priors that break the contract, so a bad artifact is never written.
    """
    target = Path(path)
    if container not in CONTAINERS:
        raise ArtifactError(f"refusing to export {target}: unknown container {container!r}")
    raw = {**metadata, "container": container}
    raw["format_version"] = format_version_of(raw, container)
    checked = _validated(raw, f"refusing to export {target}")
    priors = priors or Priors(checked.latent_dim)
    problems = priors.problems()
    if problems:
        raise ArtifactError(f"refusing to export {target}: " + "; ".join(problems))
    _check_prior_names(checked, priors, f"refusing to export {target}")
    files: dict[str, bytes] = {}
    tensors = priors.to_tensors()
    if tensors:
        buffer = io.BytesIO()
        torch.save(tensors, buffer)
        files[PRIORS_FILE] = buffer.getvalue()
    target.parent.mkdir(parents=True, exist_ok=True)
    if container == EXPORT:
        assert isinstance(module, nn.Module)
        was_training = module.training
        examples, dynamic = _example_inputs(checked)
        with torch.no_grad():
            programs = export_methods(module.cpu().eval(), examples, dynamic)
        module.train(was_training)
        raw["call_rows"] = _batch_range(programs)
        checked = _validated(raw, f"refusing to export {target}")
        files[METADATA_FILE] = json.dumps(raw, indent=1, sort_keys=True).encode()
        with target.open("wb") as out:
            write_exported(programs, files, out)
        return target
    if isinstance(module, torch.jit.ScriptModule):
        scripted = module
    else:
        was_training = module.training
        scripted = torch.jit.script(module.cpu().eval())
        module.train(was_training)
    extra: dict[str, str | bytes] = {METADATA_FILE: json.dumps(raw, indent=1, sort_keys=True)}
    extra.update(files)
    torch.jit.save(scripted, str(target), _extra_files=extra)
    return target


def _check_archive(path: Path, data: bytes) -> str:
    """The file's container; refuse it before torch reads it unless it is one of ours."""
    container = container_of(data)
    if container is None:
        raise ArtifactError(
            f"{path}: not an artifact of this service (neither a TorchScript archive nor a "
            "torch.export container; a torch.save checkpoint is not an artifact: run "
            "vae-export on it)"
        )
    if container == TORCHSCRIPT:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
        if not any(name.endswith(f"/extra/{METADATA_FILE}") for name in names):
            raise ArtifactError(
                f"{path}: not a readable TorchScript artifact of this service "
                "(needs TorchScript code and extra/metadata.json)"
            )
    return container


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
def _probe(path: Path, module: Any, metadata: ArtifactMetadata) -> None:
    """Call every contract method on a batch of 2 and check the output shapes."""
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    image = (2, *metadata.image_shape)
    grid = metadata.latent_grid_of(*metadata.image_shape[1:])
    latent: tuple[int, ...] = (2, metadata.latent_dim)
    if metadata.sizes is not None and grid is not None:
        latent = (2, *grid)
    x = torch.full(image, 0.5, device=device)
    z = torch.zeros(latent, device=device)
    try:
        encoded = module.encode(x)
        outputs: dict[str, tuple[Any, tuple[int, ...]]] = {
            "decode": (module.decode(z), image),
            "forward": (module.forward(x), image),
        }
        if metadata.has_likelihood:
            outputs["log_likelihood"] = (module.log_likelihood(x, z), (2,))
    except Exception as error:  # torch raises several types for a failing call
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ArtifactError(f"{path}: probe call failed: {first}") from error
    if not (isinstance(encoded, tuple) and len(encoded) == 2):
        raise ArtifactError(f"{path}: encode must return (mean, logvar)")
    outputs["encode mean"] = (encoded[0], latent)
    outputs["encode logvar"] = (encoded[1], latent)
    for method, (value, shape) in outputs.items():
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ArtifactError(f"{path}: {method} returned {got}, the contract says {shape}")


def _read_torchscript(
    source: Path, data: bytes, device: str | torch.device
) -> tuple[Any, dict[str, Any]]:
    extra: dict[str, Any] = {METADATA_FILE: "", PRIORS_FILE: ""}
    try:
        module = torch.jit.load(io.BytesIO(data), map_location=device, _extra_files=extra)
    except Exception as error:  # torch raises several types for a corrupt archive
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ArtifactError(f"{source}: not a readable TorchScript artifact ({reason})") from None
    return module.eval(), extra


def _read_export(
    source: Path, data: bytes, device: str | torch.device
) -> tuple[Any, dict[str, Any]]:
    try:
        module, files = read_exported(data, torch.device(device))
    except Exception as error:  # torch raises several types for a damaged program
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ArtifactError(f"{source}: not a readable torch.export artifact ({reason})") from None
    extra = {METADATA_FILE: files.get(METADATA_FILE, b"").decode(), PRIORS_FILE: b""}
    extra[PRIORS_FILE] = files.get(PRIORS_FILE, b"")
    return module, extra


def load_artifact(
    path: str | Path, map_location: str | torch.device = "cpu", data: bytes | None = None
) -> Artifact:
    """Load one artifact, of either container, and check it against the contract; raises
    ArtifactError. `data`: the file's bytes, when the caller has read them already (to check
    their digest): then exactly those bytes are loaded, not the file read a second time."""
    source = Path(path)
    if data is None:
        if not source.is_file():
            raise ArtifactError(f"{source}: no such file")
        data = source.read_bytes()
    container = _check_archive(source, data)
    reader = _read_export if container == EXPORT else _read_torchscript
    module, extra = reader(source, data, map_location)
    try:
        raw = json.loads(extra[METADATA_FILE])
    except json.JSONDecodeError:
        raise ArtifactError(f"{source}: metadata.json is missing or not valid JSON") from None
    if not isinstance(raw, dict):
        raise ArtifactError(f"{source}: metadata.json must hold a JSON object")
    metadata = _validated(raw, str(source))
    needed = [name for name in CONTRACT_METHODS if name != "log_likelihood"]
    needed += ["log_likelihood"] if metadata.has_likelihood else []
    present = module.has if container == EXPORT else lambda name: hasattr(module, name)
    missing = [name for name in needed if not present(name)]
    if missing:
        raise ArtifactError(f"{source}: missing method(s) {', '.join(missing)}")
    priors = _read_priors(source, metadata, extra[PRIORS_FILE])
    _probe(source, module, metadata)
    return Artifact(source, module, metadata, priors)
