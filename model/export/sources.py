"""vae-export for VAEs trained elsewhere: a diffusers AutoencoderKL folder, or `module:factory`.

export_diffusers ─ load (local files only) ─ DiffusersVAE (scaling as the pipelines do)
export_adapter   ─ import, factory()       ─ AdapterVAE (likelihood from its parameters)
                 ─ check_source (shapes, a round trip, finite, pictures in [0, 1])
                 ─ fit_prior_on (optional: --fit-prior FOLDER)
                 ─ written_and_checked (torch.export container, loaded back and compared)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contract.artifact import save_artifact
from contract.containers import EXPORT
from contract.images import DEFAULT_BACKGROUND
from contract.priors import Priors
from model.data import load_image_folder
from model.export.checks import (
    ABSOLUTE_TOLERANCE,
    RELATIVE_TOLERANCE,
    check_source,
    written_and_checked,
)
from model.export.foreign import (
    DiffusersVAE,
    ForeignSourceError,
    diffusers_description,
    load_adapter,
    load_diffusers,
)
from model.priors.mixtures import Codes, encode_all, fit_mixture
from model.provenance import code_version, utc_now

TRANSFORM_OF = {"bernoulli": "binarize", "gaussian": "dequantize", "none": "none"}


@dataclass(frozen=True)
class ForeignOptions:
    """vae-export's flags for a source trained elsewhere."""

    path: Path
    command: str
    name: str = ""
    description: str = ""
    credits: tuple[str, ...] = ()
    size: int = 0  # the default picture side of an any-size model; 0: its config's
    max_side: int = 2048
    fit_prior: Path | None = None  # a folder of pictures to fit the sampling prior on
    prior_components: int = 10


def fit_prior_on(module: Any, folder: Path, shape: tuple[int, int, int], k: int) -> Priors:
    """A full-covariance mixture of `k` Gaussians fitted to the posterior means of the
    pictures in `folder` (fitted to `shape`): the prior /sample draws from."""
    pixels, _ = load_image_folder(folder, shape, DEFAULT_BACKGROUND)
    codes = encode_all(module, pixels, batch_size=32)
    points = Codes(codes.mean.flatten(1), codes.logvar.flatten(1)).mean  # [N,D]
    if len(points) < 2 * k:
        raise ForeignSourceError(
            f"{folder}: {len(points)} pictures are too few to fit {k} components; give more "
            "pictures or fewer --prior-components"
        )
    if points.shape[1] > 4096:
        raise ForeignSourceError(
            f"the latent at the default size has {points.shape[1]} values, too many for a "
            "full-covariance prior: choose a smaller --size"
        )
    return Priors(int(points.shape[1]), fit_mixture(points, k), {})


def _prior_metadata(priors: Priors | None, folder: Path | None) -> dict[str, Any]:
    if priors is None or priors.fitted is None:
        return {}
    return {
        "fitted": {
            "components": len(priors.fitted.weights),
            "covariance": "full",
            "fitted_on": f"posterior means of the pictures in {folder.name if folder else '?'}",
        }
    }


def _common(options: ForeignOptions, source: str) -> dict[str, Any]:
    return {
        "credits": list(options.credits),
        "dataset": {"name": "trained elsewhere", "split": "", "size": 0},
        "metrics": {},
        "training": {"command": options.command, "source": source, "code_version": code_version()},
        "created": utc_now(),
        "torch_version": torch.__version__,
    }


def _write(
    module: nn.Module,
    metadata: dict[str, Any],
    priors: Priors | None,
    options: ForeignOptions,
    pictures: list[Tensor],
    has_likelihood: bool,
) -> tuple[Path, dict[str, float]]:
    """Write and check; returns the path and the largest difference per method."""
    metadata["training"]["export_check"] = {
        "tolerance": {"absolute": ABSOLUTE_TOLERANCE, "relative": RELATIVE_TOLERANCE},
        "inputs": [list(x.shape) for x in pictures],
    }

    def write(path: Path) -> Path:
        return save_artifact(module, metadata, path, priors, container=EXPORT)

    differences = written_and_checked(write, options.path, module, pictures, has_likelihood)
    return options.path, differences


def export_diffusers(folder: Path, options: ForeignOptions) -> tuple[Path, dict[str, float]]:
    vae, config = load_diffusers(folder)
    facts = diffusers_description(folder, config)
    factor, channels = facts["factor"], facts["channels"]
    side = options.size or facts["sample_size"]
    if side % factor:
        raise ForeignSourceError(f"--size {side} is not a multiple of {factor}")
    scaling = facts["latent_scaling"]
    module = DiffusersVAE(vae, scaling["scaling_factor"], scaling["shift_factor"]).eval()
    shape = (channels, side, side)
    grid = (facts["latent_channels"], side // factor, side // factor)
    # Two sizes: the default square, and a wide one, as a fully convolutional model takes them.
    pictures = [torch.rand(3, *shape), torch.rand(1, channels, side + 2 * factor, side // 2)]
    check_source(module, pictures, has_likelihood=False)
    priors = None
    if options.fit_prior is not None:
        priors = fit_prior_on(module, options.fit_prior, shape, options.prior_components)
    metadata = {
        "name": options.name or folder.resolve().name,
        "description": options.description
        or f"diffusers AutoencoderKL from {folder.resolve().name} (any size, multiples of "
        f"{factor} px)",
        "image_shape": list(shape),
        "latent_dim": grid[0] * grid[1] * grid[2],
        "latent_shape": list(grid),
        "likelihood": "none",
        "input_transform": "none",
        "sizes": {"factor": factor, "multiple": factor, "min": factor, "max": options.max_side},
        "latent_scaling": scaling,
        "standard_prior": False,
        "priors": _prior_metadata(priors, options.fit_prior),
        **_common(options, f"diffusers AutoencoderKL ({folder.resolve()})"),
    }
    return _write(module, metadata, priors, options, pictures, has_likelihood=False)


def export_adapter(spec: str, options: ForeignOptions) -> tuple[Path, dict[str, float]]:
    module = load_adapter(spec)
    shape = module.image_shape
    # Three pictures: the export traces with two, so a fixed batch size shows here too.
    pictures = [torch.rand(3, *shape)]
    if module.likelihood == "bernoulli":
        pictures = [torch.bernoulli(torch.rand(3, *shape))]
    has_likelihood = module.likelihood != "none"
    check_source(module, pictures, has_likelihood)
    with torch.no_grad():
        latent_dim = int(module.encode(pictures[0])[0].shape[1])
    priors = None
    if options.fit_prior is not None:
        priors = fit_prior_on(module, options.fit_prior, shape, options.prior_components)
    metadata = {
        "name": options.name or spec.partition(":")[0].rsplit(".", 1)[-1].replace("_", "-"),
        "description": options.description or f"a PyTorch VAE exported from {spec}",
        "image_shape": list(shape),
        "latent_dim": latent_dim,
        "likelihood": module.likelihood,
        "input_transform": TRANSFORM_OF[module.likelihood],
        "priors": _prior_metadata(priors, options.fit_prior),
        **_common(options, f"module {spec}"),
    }
    return _write(module, metadata, priors, options, pictures, has_likelihood)


def is_adapter_spec(source: str) -> bool:
    return ":" in source and not Path(source).exists()


def check_kind(source: str) -> str:
    """`checkpoint`, `diffusers` or `adapter`; ForeignSourceError for anything else."""
    path = Path(source)
    if path.is_file():
        return "checkpoint"
    if path.is_dir():
        if (path / "config.json").is_file():
            return "diffusers"
        raise ForeignSourceError(
            f"{source}: a folder without config.json; a diffusers AutoencoderKL folder has one"
        )
    if is_adapter_spec(source):
        return "adapter"
    raise ForeignSourceError(
        f"{source}: no such file or folder. SOURCE is a vae-train checkpoint (last.pt), a "
        "diffusers AutoencoderKL folder, or module:factory"
    )
