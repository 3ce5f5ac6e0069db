"""Latents and pictures as tensors: what a request sends (JSON vectors, flat [D] or nested
[c][h][w]; or numpy's .npy, which says its own shape and dtype) made into what the model's
methods take, and tensors answered as .npy.

One latent's shape decides how it is read:
    [D]        a flat vector of the model's latent_dim (its default grid, for a grid model)
    [c, h, w]  a grid: the model's latent_shape, or for a model that takes any size any grid
               whose picture, h·factor × w·factor, it takes
A batch is [N, *shape]; all its latents have one shape.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch
from fastapi import Request
from torch import Tensor

from app.artifacts import LoadedModel
from app.errors import BadRequest, InvalidInput, PayloadTooLarge
from app.schemas import MAX_LATENT_ABS

NPY = "application/x-npy"
NPY_DTYPES = {"float16": np.float16, "float32": np.float32}


def is_npy(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == NPY


def read_npy(raw: bytes) -> np.ndarray:
    """A .npy body as an array (no pickles: numbers only); 400 when it is not one, 422 for a
    dtype other than float16 or float32."""
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise BadRequest(f"body is not a .npy array ({error})") from None
    if not isinstance(array, np.ndarray):
        raise BadRequest("body is not a .npy array")
    if array.dtype.name not in NPY_DTYPES:
        raise InvalidInput(f"a .npy of {array.dtype.name}; send float16 or float32")
    return array


def npy_bytes(values: Tensor, dtype: str = "float32") -> bytes:
    """A tensor as a .npy file of `dtype` (float16 or float32)."""
    out = io.BytesIO()
    np.save(out, values.detach().cpu().float().numpy().astype(NPY_DTYPES[dtype]))
    return out.getvalue()


def _as_batch(values: Any) -> Tensor:
    """JSON lists (flat or nested, one latent or several) or an array → a float32 tensor."""
    try:
        tensor = torch.as_tensor(np.asarray(values, dtype=np.float32))
    except (ValueError, TypeError):
        raise InvalidInput(_ragged(values)) from None
    if tensor.numel() and not (
        bool(torch.isfinite(tensor).all()) and float(tensor.abs().max()) <= MAX_LATENT_ABS
    ):
        raise InvalidInput(f"latent components must be finite and within ±{MAX_LATENT_ABS:g}")
    return tensor


def _shape(item: Any) -> tuple[int, ...] | None:
    """A JSON latent's shape, or None when it is ragged itself (a grid whose rows differ)."""
    try:
        return np.shape(np.asarray(item, dtype=np.float32))
    except (ValueError, TypeError):
        return None


def _ragged(values: Any) -> str:
    """Which latent breaks the batch's one shape (a JSON batch whose latents differ, or a grid
    whose rows differ)."""
    shapes = [_shape(item) for item in values] if isinstance(values, list) else []
    for index, shape in enumerate(shapes):
        if shape is None:
            return f"latent {index} is ragged: a grid's rows must all have one length"
    for index, shape in enumerate(shapes[1:], start=1):
        if shape != shapes[0]:
            return (
                f"latent {index} has {_described(shape)}; latent 0 has "
                f"{_described(shapes[0])}: one request, one shape"
            )
    return "latents must all have one shape: [D] vectors or [c][h][w] grids"


def _described(shape: tuple[int, ...] | None) -> str:
    return (
        f"length {shape[0]}"
        if shape is not None and len(shape) == 1
        else f"shape {list(shape or ())}"
    )


def latent_tensor(model: LoadedModel, values: Any, max_latents: int | None = None) -> Tensor:
    """Latents as the model's decode takes them: [N, D], or [N, c, h, w] for a model that takes
    any size. A single latent (1-D or 3-D) is a batch of one. 422 naming what would fit."""
    batch = _as_batch(values)
    if batch.dim() in (1, 3):
        batch = batch[None]
    if batch.dim() not in (2, 4) or len(batch) == 0:
        raise InvalidInput(
            f"latents of shape {list(batch.shape)}: send [N, D] vectors or [N, c, h, w] grids"
        )
    if max_latents is not None and len(batch) > max_latents:
        raise InvalidInput(
            f"{len(batch)} latents in one request; the limit is {max_latents} (VAE_MAX_LATENTS)"
        )
    grid = model.latent_shape
    if batch.dim() == 2:
        if batch.shape[1] != model.latent_dim:
            raise InvalidInput(
                f"latent vectors of length {batch.shape[1]}; model {model.name!r} takes "
                f"{model.latent_dim}" + (f" (or {list(grid)} grids)" if grid else "")
            )
        return model.as_decode_input(batch)
    channels, height, width = batch.shape[1:]
    if grid is None or channels != grid[0]:
        wanted = f"[{grid[0]}, h, w] grids" if grid else f"flat vectors of {model.latent_dim}"
        raise InvalidInput(f"latents of shape {list(batch.shape[1:])}; model takes {wanted}")
    sizes = model.metadata.sizes
    if sizes is None:
        if (height, width) != grid[1:]:
            raise InvalidInput(
                f"latent grids of {list(batch.shape[1:])}; the model's is {list(grid)}"
            )
        return batch.flatten(1)  # this model's decode takes the flat vector
    picture = (height * sizes.factor, width * sizes.factor)
    if not sizes.takes(*picture):
        raise InvalidInput(
            f"a {height}×{width} latent grid decodes to {picture[0]}×{picture[1]} px; model "
            f"{model.name!r} takes sides that are multiples of {sizes.multiple} from "
            f"{sizes.min} to {sizes.max} px"
        )
    return batch


def picture_tensor(model: LoadedModel, array: np.ndarray, max_pixels: int) -> Tensor:
    """A .npy of pictures [N, C, H, W] (or one [C, H, W]) in [0, 1] as the model's input: the
    model's own size, or for a model that takes any size, a size it takes."""
    pictures = torch.from_numpy(array.astype(np.float32))
    if pictures.dim() == 3:
        pictures = pictures[None]
    if pictures.dim() != 4 or len(pictures) == 0:
        raise InvalidInput(f"pictures of shape {list(array.shape)}: send [N, C, H, W] in [0, 1]")
    channels, height, width = pictures.shape[1:]
    if len(pictures) * height * width > max_pixels:
        raise PayloadTooLarge(
            f"these pictures hold {len(pictures) * height * width:,} pixels; the limit is "
            f"{max_pixels:,} (VAE_MAX_REQUEST_PIXELS)"
        )
    if not bool(torch.isfinite(pictures).all()) or pictures.min() < 0 or pictures.max() > 1:
        raise InvalidInput("picture values must be in [0, 1]")
    sizes = model.metadata.sizes
    fits = (
        sizes.takes(height, width)
        if sizes is not None
        else (height, width) == model.image_shape[1:]
    )
    if channels != model.image_shape[0] or not fits:
        raise InvalidInput(
            f"pictures of {channels}×{height}×{width}; model {model.name!r} takes "
            + (
                f"{model.image_shape[0]}×H×W with sides multiples of {sizes.multiple} from "
                f"{sizes.min} to {sizes.max} px"
                if sizes is not None
                else "×".join(map(str, model.image_shape))
            )
        )
    return pictures.contiguous()


def fitted_size(model: LoadedModel, height: int, width: int) -> tuple[int, int, int]:
    """The picture shape an upload of H×W is fitted to: the model's own, or for a model that
    takes any size the nearest size it takes (each side rounded to its multiple)."""
    sizes = model.metadata.sizes
    if sizes is None:
        return model.image_shape

    def side(pixels: int) -> int:
        rounded = max(1, round(pixels / sizes.multiple)) * sizes.multiple
        return min(max(rounded, sizes.min), sizes.max)

    return model.image_shape[0], side(height), side(width)
