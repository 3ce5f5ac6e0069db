"""How raw 8-bit pixels become the data a likelihood is defined on (metadata `input_transform`).

- `binarize`: x ~ Bernoulli(p / 255), drawn afresh each call (dynamic binarization).
- `dequantize`: x = (p + u) / 256, u ~ U[0, 1), for continuous likelihoods.

The encoder always sees about p / 255: the binarized sample itself, or the dequantized x
rescaled by 256/255.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

# `none` (format 4): a model without a likelihood, whose pixels never need a representation.
Transform = Literal["binarize", "dequantize", "none"]
TRANSFORMS: tuple[Transform, ...] = ("binarize", "dequantize", "none")


def to_unit(pixels: Tensor) -> Tensor:
    """uint8 pixels p → p / 255 in [0, 1], the encoder's input convention."""
    return pixels.float() / 255.0


def unit_to_pixels(x: Tensor) -> Tensor:
    """Images in [0, 1] → the 8-bit levels p they came from, as floats in {0, …, 255}."""
    return (x.float() * 255.0).round()


def apply_transform(
    pixels: Tensor, transform: str, generator: torch.Generator | None = None
) -> Tensor:
    """Pixels p in {0, …, 255} (any dtype) → the representation of `transform`."""
    if transform == "binarize":
        return torch.bernoulli(pixels.float() / 255.0, generator=generator)
    if transform == "dequantize":
        noise = torch.rand(pixels.shape, generator=generator, device=pixels.device)
        return (pixels.float() + noise) / 256.0
    raise ValueError(f"unknown input transform {transform!r}")


def encoder_input(x: Tensor, transform: str) -> Tensor:
    """What the encoder sees for data in a likelihood's representation (about p / 255)."""
    return x if transform == "binarize" else x * (256.0 / 255.0)
