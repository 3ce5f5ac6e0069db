"""What vae-export checks before it writes: the source's shapes, a round trip, and that the
written artifact, loaded back, gives the source module's outputs to a stated tolerance."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from contract.artifact import load_artifact
from contract.errors import ArtifactError

# Exported or scripted programs run the same float32 kernels as the module they came from; a
# different order of a few additions is all that may differ.
ABSOLUTE_TOLERANCE = 1e-4
RELATIVE_TOLERANCE = 1e-4


class ExportCheckFailed(ValueError):
    """What was exported does not behave as its source; the message names the method."""


def _outputs(module: Any, x: Tensor, has_likelihood: bool) -> dict[str, Tensor]:
    with torch.no_grad():
        mean, logvar = module.encode(x)
        found = {"encode mean": mean, "encode logvar": logvar, "decode": module.decode(mean)}
        if has_likelihood:
            found["log_likelihood"] = module.log_likelihood(x, mean)
    return found


def check_source(module: Any, pictures: list[Tensor], has_likelihood: bool) -> None:
    """The source alone: encode gives two equal shapes, decode gives back the pictures' shape
    in [0, 1], every value finite (at each size in `pictures`)."""
    for x in pictures:
        try:
            found = _outputs(module, x, has_likelihood)
        except Exception as error:  # whatever the user's module raises
            raise ExportCheckFailed(f"the source fails on {tuple(x.shape)}: {error}") from None
        if found["encode mean"].shape != found["encode logvar"].shape:
            raise ExportCheckFailed("encode must give a mean and a log-variance of one shape")
        if found["decode"].shape != x.shape:
            raise ExportCheckFailed(
                f"decode(encode(x)) has shape {tuple(found['decode'].shape)}; x has "
                f"{tuple(x.shape)}: the round trip must give back the picture's shape"
            )
        for name, value in found.items():
            if not bool(torch.isfinite(value).all()):
                raise ExportCheckFailed(f"{name} of the source is not finite")
        if float(found["decode"].min()) < 0.0 or float(found["decode"].max()) > 1.0:
            raise ExportCheckFailed("decode must give pictures in [0, 1]")


def written_and_checked(
    write: Callable[[Path], Path],
    target: Path,
    module: Any,
    pictures: list[Tensor],
    has_likelihood: bool,
) -> dict[str, float]:
    """Write the artifact beside `target`, load it back as the service would, compare its
    outputs with the source's on `pictures`; only then put it in place. Returns the largest
    difference per method (what the metadata records)."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        write(partial)
        loaded = load_artifact(partial).module
        differences: dict[str, float] = {}
        for x in pictures:
            expected = _outputs(module, x, has_likelihood)
            try:
                got = _outputs(loaded, x, has_likelihood)
            except Exception as error:  # an exported program's guard, a device fault, ...
                first = str(error).splitlines()[0] if str(error) else type(error).__name__
                raise ExportCheckFailed(
                    f"the exported model fails on {tuple(x.shape)}: {first}"
                ) from None
            for name, value in expected.items():
                gap = (got[name] - value).abs()
                allowed = ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * value.abs()
                if not bool((gap <= allowed).all()):
                    raise ExportCheckFailed(
                        f"{name} of the exported model differs from the source's by up to "
                        f"{float(gap.max()):.3g} at {tuple(x.shape)} (allowed: "
                        f"{ABSOLUTE_TOLERANCE:g} + {RELATIVE_TOLERANCE:g}·|value|)"
                    )
                differences[name] = max(differences.get(name, 0.0), float(gap.max()))
        os.replace(partial, target)
    except ArtifactError as error:
        raise ExportCheckFailed(f"the written artifact does not load: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return differences
