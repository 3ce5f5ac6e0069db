"""Bytes ↔ tensors: any image Pillow reads → [C,H,W] in [0, 1]; tensors → 8-bit PNG bytes."""

from __future__ import annotations

import base64
import binascii
import io
import math
import warnings

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from app.errors import BadImage, InvalidInput, PayloadTooLarge
from contract.images import DEFAULT_BACKGROUND, Invert, Preprocess, image_to_pixels

# Pillow's own bomb check is off: ours (max_pixels, a 413 before decoding) replaces it, and
# Pillow's would only warn or raise its own error type for sizes our limit may allow.
Image.MAX_IMAGE_PIXELS = None


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """Read an image's header (not its pixels): 400 when Pillow cannot, 413 when it is over
    `max_pixels`. `load_image` decodes it."""
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
    return image


def load_image(image: Image.Image) -> Image.Image:
    """Decode an opened image's pixels (the first frame of an animation); 400 when corrupt."""
    try:
        image.seek(0)  # animated GIF/APNG/WebP: the first frame is used
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. palette-with-transparency notices
            image.load()
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise BadImage(f"cannot decode the image (truncated or corrupt?): {error}") from None
    return image


def image_to_tensor(
    data: bytes | Image.Image,
    shape: tuple[int, int, int],
    max_pixels: int,
    invert: Invert = Invert.auto,
    preprocess: Preprocess | None = None,
    background: tuple[int, int, int] = DEFAULT_BACKGROUND,
) -> torch.Tensor:
    """Decode (within the size limit) and make the model's input [C,H,W] in [0, 1]: grey
    (inverted if needed, then MNIST-style preprocessing or a plain fit) or colour (alpha over
    the background, fitted): contract.images. `data` may be an image `open_image` opened."""
    image = open_image(data, max_pixels) if isinstance(data, bytes) else data
    return image_to_pixels(load_image(image), shape, invert, preprocess, background)


def decode_base64(text: str) -> bytes:
    """Base64 (optionally a `data:...;base64,` URL) → bytes."""
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadImage("an image is not valid base64") from None


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[N,C,H,W] in [0, 1] → uint8 levels, rounded half to even (as torch.round does)."""
    array = images.detach().cpu().float().numpy()
    return np.rint(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


def grey_or_rgb(pixels: np.ndarray) -> np.ndarray:
    """One uint8 image [C,H,W] → [H,W] or [H,W,C], as Pillow takes it."""
    return pixels[0] if pixels.shape[0] == 1 else np.ascontiguousarray(pixels.transpose(1, 2, 0))


def tile(images: torch.Tensor, cols: int | None = None) -> np.ndarray:
    """[N,C,H,W] in [0, 1] → one uint8 grid [rows·H, cols·W(, C)], row-major, no gaps.

    numpy, not torch: for the common single 28×28 image, each torch op's dispatch costs more
    than the arithmetic, and this runs once per request.
    """
    pixels = to_uint8(images)  # [N,C,H,W]
    n, channels, height, width = pixels.shape
    cols = max(1, min(cols or math.ceil(math.sqrt(n)), n))
    rows = math.ceil(n / cols)
    if n == 1:
        return grey_or_rgb(pixels[0])
    else:
        canvas = np.zeros((rows * cols, channels, height, width), dtype=np.uint8)
        canvas[:n] = pixels
        # [rows,cols,C,H,W] → [rows,H,cols,W,C] → [rows·H, cols·W, C]
        arranged = canvas.reshape(rows, cols, channels, height, width).transpose(0, 3, 1, 4, 2)
        grid = arranged.reshape(rows * height, cols * width, channels)
    return np.ascontiguousarray(grid[:, :, 0] if channels == 1 else grid)


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
        base64.b64encode(png_bytes(grey_or_rgb(pixels), scale)).decode("ascii")
        for pixels in to_uint8(images)
    ]
