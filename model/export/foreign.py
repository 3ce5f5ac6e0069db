"""VAEs trained elsewhere, as modules with the artifact contract's methods (docs/serve-your-own.md).

diffusers   an AutoencoderKL folder (config.json and weights), loaded from a local path
            only: pictures in [0, 1] → [−1, 1]; latents scaled the way diffusers'
            pipelines scale them, (mean − shift_factor) · scaling_factor; any picture size
            whose sides are multiples of 2^(blocks − 1); no likelihood (the decoder gives a
            picture, not a distribution).
adapter     `module:factory`: factory() returns an object with `encode(x) -> (mean,
            logvar)` and `decode(z) -> image or likelihood parameters`, and the attributes
            `image_shape` (C, H, W) and `likelihood` (bernoulli, gaussian or none; for
            gaussian also `decoder_logvar`, one float or a tensor of the image's shape).
"""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

_LOG_2PI = math.log(2.0 * math.pi)
LIKELIHOODS = ("bernoulli", "gaussian", "none")


class ForeignSourceError(ValueError):
    """A source vae-export cannot read or export; the message says what would work."""


class DiffusersVAE(nn.Module):
    """diffusers' AutoencoderKL behind the contract: encode(x in [0, 1]) → the scaled posterior's
    mean and log-variance [N, c, H/f, W/f]; decode(scaled z) → a picture in [0, 1]."""

    vae: Any

    def __init__(self, vae: nn.Module, scaling_factor: float, shift_factor: float) -> None:
        super().__init__()
        self.vae = vae
        self.scaling_factor, self.shift_factor = scaling_factor, shift_factor

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        posterior = self.vae.encode(x * 2.0 - 1.0).latent_dist  # diffusers' [−1, 1] pictures
        mean = (posterior.mean - self.shift_factor) * self.scaling_factor
        # Scaling z by s scales its variance by s²: log σ² + 2 log s.
        logvar = posterior.logvar + 2.0 * math.log(self.scaling_factor)
        return mean, logvar

    def decode(self, z: Tensor) -> Tensor:
        picture = self.vae.decode(z / self.scaling_factor + self.shift_factor).sample
        return (picture / 2.0 + 0.5).clamp(0.0, 1.0)  # as diffusers' image processor does

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x)[0])


def load_diffusers(folder: Path) -> tuple[nn.Module, dict[str, Any]]:
    """AutoencoderKL from a local folder (no download: local_files_only) and its config."""
    config_file = folder / "config.json"
    try:
        config = json.loads(config_file.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ForeignSourceError(
            f"{config_file}: not a readable diffusers config ({error})"
        ) from None
    if config.get("_class_name") != "AutoencoderKL":
        raise ForeignSourceError(
            f"{folder}: a diffusers {config.get('_class_name', 'model')!r}; vae-export takes "
            "AutoencoderKL folders (a pipeline's vae/ sub-folder)"
        )
    try:
        from diffusers import AutoencoderKL
    except ImportError:
        raise ForeignSourceError(
            "exporting a diffusers folder needs diffusers: pip install diffusers"
        ) from None
    vae = AutoencoderKL.from_pretrained(str(folder), local_files_only=True)  # type: ignore[no-untyped-call]
    return vae.float().eval(), config


def diffusers_description(folder: Path, config: dict[str, Any]) -> dict[str, Any]:
    """What the metadata says of an AutoencoderKL: its scaling, the sizes it takes, its grid."""
    factor = 2 ** (len(config.get("block_out_channels", [64])) - 1)
    scaling = config.get("scaling_factor") or 1.0
    shift = config.get("shift_factor") or 0.0
    return {
        "factor": factor,
        "channels": int(config.get("in_channels", 3)),
        "latent_channels": int(config.get("latent_channels", 4)),
        "sample_size": int(config.get("sample_size") or 64),
        "latent_scaling": {"scaling_factor": float(scaling), "shift_factor": float(shift)},
    }


class AdapterVAE(nn.Module):
    """A user's VAE behind the contract. Their decode gives a picture (likelihood none), Bernoulli
    probabilities, or Gaussian means (with `decoder_logvar`); flat outputs are reshaped to the
    picture, and log p(x|z) is written here from those parameters."""

    source: Any
    decoder_logvar: Tensor

    def __init__(self, source: Any) -> None:
        super().__init__()
        if isinstance(source, nn.Module):
            self.source = source.eval()
        else:  # a plain object: its networks are registered here, so they export as weights
            self.source = source
            for name, value in vars(source).items():
                if isinstance(value, nn.Module):
                    self.add_module(f"network_{name}", value.eval())
        shape = tuple(int(side) for side in getattr(source, "image_shape", ()))
        if len(shape) != 3:
            raise ForeignSourceError("the adapter needs image_shape = (C, H, W)")
        likelihood = str(getattr(source, "likelihood", ""))
        if likelihood not in LIKELIHOODS:
            raise ForeignSourceError(
                f"the adapter's likelihood is {likelihood!r}; give one of {', '.join(LIKELIHOODS)}"
            )
        self.image_shape: tuple[int, int, int] = (shape[0], shape[1], shape[2])
        self.likelihood = likelihood
        logvar = getattr(source, "decoder_logvar", None)
        if likelihood == "gaussian" and logvar is None:
            raise ForeignSourceError("a gaussian adapter needs decoder_logvar (a float or tensor)")
        self.register_buffer(
            "decoder_logvar", torch.as_tensor(0.0 if logvar is None else logvar).float()
        )

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, logvar = self.source.encode(x)
        return mean.flatten(1), logvar.flatten(1)

    def decode(self, z: Tensor) -> Tensor:
        return self.source.decode(z).reshape(-1, *self.image_shape).clamp(0.0, 1.0)

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z) in nats, summed over pixels: [N]."""
        mean = self.decode(z)
        if self.likelihood == "bernoulli":
            p = mean.clamp(1e-6, 1 - 1e-6)
            per_pixel = x * torch.log(p) + (1 - x) * torch.log1p(-p)
        else:
            logvar = self.decoder_logvar.expand_as(mean)
            per_pixel = -0.5 * (_LOG_2PI + logvar + (x - mean).pow(2) * torch.exp(-logvar))
        return per_pixel.flatten(1).sum(1)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x)[0])


def load_adapter(spec: str) -> AdapterVAE:
    """`module:factory` → AdapterVAE(factory()); the module is imported from the current folder
    or the Python path."""
    module_name, _, function = spec.partition(":")
    if not module_name or not function:
        raise ForeignSourceError(f"{spec!r}: give module:factory, such as my_vae:factory")
    if "" not in sys.path:
        sys.path.insert(0, "")  # a module beside the user, as `python -m` would find it
    try:
        factory = getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError) as error:
        raise ForeignSourceError(f"{spec}: cannot import it ({error})") from None
    source = factory()
    missing = [name for name in ("encode", "decode") if not callable(getattr(source, name, None))]
    if missing:
        raise ForeignSourceError(f"{spec}: what it returns has no {', '.join(missing)}")
    return AdapterVAE(source)
