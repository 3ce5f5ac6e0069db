"""The two file layouts of an artifact, told apart by what the file holds (never by its suffix).

    torchscript    torch.jit.save of a ScriptModule with the contract methods; metadata.json and
                   priors.pt as its extra files (formats 1 to 4).
    torch.export   a zip of our own (format 4): artifact.json naming the container, metadata.json,
                   priors.pt, and one ExportedProgram per method, methods/<name>.pt2, each
                   written by torch.export.save with a dynamic batch (and, for models that take
                   any picture size, dynamic height and width).

TorchScript is deprecated in torch 2.13 but still the faster of the two to run our small
networks on a CPU (docs/artifact.md, "Which container"); torch.export is the one that carries
models written elsewhere (diffusers' AutoencoderKL) and the one to move to.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.export.passes import move_to_device_pass

TORCHSCRIPT = "torchscript"
EXPORT = "torch.export"
CONTAINERS = (TORCHSCRIPT, EXPORT)
MANIFEST = "artifact.json"
METHODS_DIR = "methods"


def container_of(data: bytes) -> str | None:
    """Which layout `data` has, from its zip entries; None when it is neither."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    if MANIFEST in names and any(name.startswith(f"{METHODS_DIR}/") for name in names):
        return EXPORT
    if any("/code/" in name for name in names):
        return TORCHSCRIPT
    return None


class _Method(nn.Module):
    """One method of a model as the forward of a module: what torch.export exports."""

    def __init__(self, model: nn.Module, name: str) -> None:
        super().__init__()
        self.model, self.name = model, name

    def forward(self, *inputs: Tensor) -> Any:
        return getattr(self.model, self.name)(*inputs)


def export_methods(
    model: nn.Module,
    examples: dict[str, tuple[Tensor, ...]],
    dynamic: dict[str, tuple[dict[int, Any], ...]],
) -> dict[str, torch.export.ExportedProgram]:
    """torch.export each method named in `examples` (its example inputs), with the dimensions
    `dynamic` marks per input ({dim: torch.export.Dim}) free to vary."""
    programs = {}
    for name, inputs in examples.items():
        programs[name] = torch.export.export(
            _Method(model, name).eval(), inputs, dynamic_shapes=(dynamic[name],)
        )
    return programs


def write_exported(
    programs: dict[str, torch.export.ExportedProgram],
    files: dict[str, bytes],
    target: Any,
) -> None:
    """The torch.export container: the manifest, `files` (metadata.json, priors.pt) and one
    .pt2 per program."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        manifest = {"container": EXPORT, "methods": sorted(programs)}
        archive.writestr(MANIFEST, json.dumps(manifest))
        for name, content in files.items():
            archive.writestr(name, content)
        for name, program in programs.items():
            buffer = io.BytesIO()
            torch.export.save(program, buffer)
            archive.writestr(f"{METHODS_DIR}/{name}.pt2", buffer.getvalue())


class ExportedModel:
    """A torch.export artifact's methods, loaded on one device: callable as a TorchScript
    artifact's are (`encode`, `decode`, `log_likelihood` when it has one, `forward`)."""

    def __init__(self, programs: dict[str, torch.export.ExportedProgram], device: torch.device):
        self.device = device
        self.methods: dict[str, Callable[..., Any]] = {}
        for name, program in programs.items():
            if device.type != "cpu":
                program = move_to_device_pass(program, device)
            self.methods[name] = program.module()

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, logvar = self.methods["encode"](x)
        return mean, logvar

    def decode(self, z: Tensor) -> Tensor:
        images: Tensor = self.methods["decode"](z)
        return images

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        values: Tensor = self.methods["log_likelihood"](x, z)
        return values

    def forward(self, x: Tensor) -> Tensor:
        """Reconstruction through the posterior mean, composed of the two programs."""
        return self.decode(self.encode(x)[0])

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def eval(self) -> ExportedModel:
        return self

    def parameters(self) -> list[Tensor]:
        found: list[Tensor] = []
        for method in self.methods.values():
            found += list(method.parameters())  # type: ignore[attr-defined]
        return found

    def has(self, name: str) -> bool:
        return name == "forward" or name in self.methods


def read_exported(data: bytes, device: torch.device) -> tuple[ExportedModel, dict[str, bytes]]:
    """The model and the other files (metadata.json, priors.pt) of a torch.export container."""
    programs: dict[str, torch.export.ExportedProgram] = {}
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            content = archive.read(name)
            if name.startswith(f"{METHODS_DIR}/") and name.endswith(".pt2"):
                method = name.removeprefix(f"{METHODS_DIR}/").removesuffix(".pt2")
                programs[method] = torch.export.load(io.BytesIO(content))
            elif name != MANIFEST:
                files[name] = content
    return ExportedModel(programs, device), files
