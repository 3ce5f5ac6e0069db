"""Bytes ↔ tensors: any image Pillow reads → [C,H,W] in [0, 1]; tensors → 8-bit PNG bytes."""

from __future__ import annotations

import base64
import binascii
import io
import math
import warnings
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from app.errors import BadImage, InvalidInput, PayloadTooLarge

Invert = Literal["auto", "true", "false"]
# Pillow's own bomb check is a second line of defence; ours (max_pixels) runs first.
Image.MAX_IMAGE_PIXELS = None


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise BadImage("empty image: the body or file has no bytes")
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError):
        raise BadImage(
            "not an image Pillow can read (PNG, JPEG, GIF, BMP, TIFF, WebP, ...)"
        ) from None
    width, height = image.size
    if width * height > max_pixels:
        raise PayloadTooLarge(
            f"image is {width}×{height} = {width * height} pixels; the limit is {max_pixels}"
        )
    try:
        image.seek(0)  # animated GIF/APNG/WebP: the first frame is used
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. palette-with-transparency notices
            image.load()
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise BadImage(f"cannot decode the image (truncated or corrupt?): {error}") from None
    return image


def _to_grey(image: Image.Image) -> np.ndarray:
    """Any mode → uint8 [H,W]; transparency is composited onto white, like a page."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        return np.clip(values / top * 255.0, 0, 255).round().astype(np.uint8)
    if image.mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float64))
        top = 1.0 if values.max() <= 1.0 else 255.0
        return np.clip(values / top * 255.0, 0, 255).round().astype(np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        page = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(page, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _should_invert(grey: np.ndarray, invert: Invert) -> bool:
    """`auto`: a light border means dark ink on paper, the opposite of MNIST's convention."""
    if invert != "auto":
        return invert == "true"
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(border.mean()) > 127.5


def image_to_tensor(
    data: bytes, shape: tuple[int, int, int], max_pixels: int, invert: Invert = "auto"
) -> torch.Tensor:
    """Decode, convert to grey, invert if needed, fit into H×W keeping the aspect ratio (black
    padding), and scale to [0, 1]: [C,H,W]."""
    channels, height, width = shape
    grey = _to_grey(_open(data, max_pixels))
    if _should_invert(grey, invert):
        grey = 255 - grey
    picture = Image.fromarray(grey)  # uint8 [H,W] → mode L
    if picture.size != (width, height):
        picture = ImageOps.pad(picture, (width, height), method=Image.Resampling.LANCZOS, color=0)
    pixels = torch.from_numpy(np.asarray(picture, dtype=np.float32) / 255.0)  # [H,W]
    return pixels.unsqueeze(0).expand(channels, height, width).contiguous()


def decode_base64(text: str) -> bytes:
    """Base64 (optionally a `data:...;base64,` URL) → bytes."""
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadImage("an image is not valid base64") from None


def tile(images: torch.Tensor, cols: int | None = None) -> np.ndarray:
    """[N,C,H,W] in [0, 1] → one uint8 grid [rows·H, cols·W(, C)], row-major, no gaps."""
    n, channels, height, width = images.shape
    cols = max(1, min(cols or math.ceil(math.sqrt(n)), n))
    rows = math.ceil(n / cols)
    pixels = (images.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
    canvas = torch.zeros((rows * cols, channels, height, width), dtype=torch.uint8)
    canvas[:n] = pixels
    # [rows,cols,C,H,W] → [rows,H,cols,W,C] → [rows·H, cols·W, C]
    arranged = canvas.view(rows, cols, channels, height, width).permute(0, 3, 1, 4, 2)
    grid: np.ndarray = arranged.reshape(rows * height, cols * width, channels).numpy()
    return grid[:, :, 0] if channels == 1 else grid


def png_bytes(grid: np.ndarray, scale: int = 1) -> bytes:
    """uint8 [H,W] or [H,W,3] → PNG bytes, upscaled by nearest neighbour."""
    if grid.ndim == 3 and grid.shape[2] not in (1, 3):
        raise InvalidInput("only greyscale or RGB images can be written as PNG")
    picture = Image.fromarray(grid)  # uint8 [H,W] → L, [H,W,3] → RGB
    if scale > 1:
        picture = picture.resize(
            (picture.width * scale, picture.height * scale), Image.Resampling.NEAREST
        )
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def images_to_png(images: torch.Tensor, cols: int | None = None, scale: int = 1) -> bytes:
    """A batch as one PNG: a single image, or a grid."""
    return png_bytes(tile(images, cols), scale)


def images_to_base64(images: torch.Tensor, scale: int = 1) -> list[str]:
    """Each image as its own base64 PNG (no data: prefix), for JSON responses."""
    return [
        base64.b64encode(png_bytes(tile(image[None]), scale)).decode("ascii") for image in images
    ]
