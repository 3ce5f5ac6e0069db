"""Pictures → the model's input: one pipeline for the service's uploads and for training folders.

    grey model (C = 1):
    any Pillow image ─ to_grey ─ invert? ─┬─ preprocess=fit (none): fit into H×W, black padding
                                          └─ preprocess=mnist: mnist_style (below)
    colour model (C = 3):
    any Pillow image ─ to_rgb (alpha over the model's background) ─ fit into H×W, background
                                                                    padding (preprocess=fit)

MNIST digits are white ink on exact black, size-normalised into a 20×20 box and centred by
their centre of mass in 28×28 (LeCun et al.). A photo of handwriting is none of that: dark ink,
off-white shaded paper, noise, and a digit anywhere in a large frame. `mnist_style` undoes each
difference, so the model sees what it was trained on.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import torch
from PIL import Image, ImageFilter


class Invert(StrEnum):
    """Whether to invert grey levels: `auto` inverts when the border is light (ink on paper)."""

    auto = "auto"
    true = "true"
    false = "false"


class Preprocess(StrEnum):
    """`mnist`: clean, crop, fit into the digit box and centre by mass (grey models only);
    `fit`: resize keeping the aspect ratio and pad; `none`: the same as `fit` (its old name)."""

    mnist = "mnist"
    fit = "fit"
    none = "none"


# White, as a page: what transparent pixels become unless an artifact says otherwise.
DEFAULT_BACKGROUND = (255, 255, 255)


def preprocess_choices(channels: int) -> tuple[Preprocess, ...]:
    """What a model with `channels` channels takes: `mnist` is for grey ink-on-paper models."""
    return tuple(Preprocess) if channels == 1 else (Preprocess.fit, Preprocess.none)


def parse_colour(text: str) -> tuple[int, int, int]:
    """'#rrggbb', 'rrggbb' or 'r,g,b' → (r, g, b); raises ValueError naming the forms."""
    value = text.strip().removeprefix("#")
    try:
        if "," in value:
            parts = tuple(int(part) for part in value.split(","))
        elif len(value) == 6:
            parts = tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))
        else:
            parts = ()
    except ValueError:
        parts = ()
    if len(parts) != 3 or not all(0 <= part <= 255 for part in parts):
        raise ValueError(f"colour {text!r}: give #rrggbb or r,g,b with values 0-255")
    return parts[0], parts[1], parts[2]


def has_colour(image: Image.Image) -> bool:
    """Whether a picture's mode (and palette) can hold colour, from its header alone."""
    if image.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
        return False
    if image.mode in ("P", "PA"):
        palette = image.getpalette() or []
        triples = zip(palette[0::3], palette[1::3], palette[2::3], strict=False)
        return any(not (r == g == b) for r, g, b in triples)
    return True


# MNIST's geometry: the digit's longer side is 20 px, centred by mass in a 28×28 field.
_BOX_FRACTION = 20 / 28
# Large photos are reduced to this longer side first: strokes survive, the filters stay cheap.
_WORK_SIDE = 256
# The background is estimated on a grid this coarse, where strokes are at most a few cells wide.
_BACKGROUND_SIDE = 32
# After contrast stretching, levels below this fraction of the ink's are paper noise.
_NOISE_FLOOR = 0.2


def to_grey(image: Image.Image) -> np.ndarray:
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


def to_rgb(image: Image.Image, background: tuple[int, int, int]) -> np.ndarray:
    """Any mode → uint8 [H,W,3]; transparency is composited over `background`, grey is copied
    into the three channels."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        grey = to_grey(image)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        image = Image.alpha_composite(canvas, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def should_invert(grey: np.ndarray, invert: Invert) -> bool:
    """`auto`: a light border means dark ink on paper, the opposite of MNIST's convention."""
    if invert != Invert.auto:
        return invert == Invert.true
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(border.mean()) > 127.5


def fit(
    picture: Image.Image, width: int, height: int, fill: int | tuple[int, int, int] = 0
) -> Image.Image:
    """Resize to fit width×height keeping the aspect ratio, centred on `fill`. Each side keeps
    at least one pixel, so a 200×2 or 1×10000 image becomes a thin line, not an error
    (ImageOps.pad rounds the short side to 0 px there)."""
    ratio = min(width / picture.width, height / picture.height)
    size = (
        max(1, min(width, round(picture.width * ratio))),
        max(1, min(height, round(picture.height * ratio))),
    )
    resized = picture.resize(size, Image.Resampling.LANCZOS)
    canvas = Image.new(picture.mode, (width, height), fill)
    canvas.paste(resized, ((width - size[0]) // 2, (height - size[1]) // 2))
    return canvas


def _shrunk(picture: Image.Image, longest: int) -> Image.Image:
    """Area-averaged down to `longest` px on the longer side (never up)."""
    scale = longest / max(picture.size)
    if scale >= 1:
        return picture
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.BOX)


def _background(picture: Image.Image) -> np.ndarray:
    """The paper's level under the ink, float [H,W] in [0, 1]: a grey opening (min, then max
    filter) on a coarse grid erases strokes and keeps shading, then is smoothed back up."""
    coarse = _shrunk(picture, _BACKGROUND_SIDE)
    opened = coarse.filter(ImageFilter.MinFilter(5)).filter(ImageFilter.MaxFilter(5))
    smooth = opened.filter(ImageFilter.GaussianBlur(2))
    smooth = smooth.resize(picture.size, Image.Resampling.BILINEAR)
    return np.asarray(smooth, dtype=np.float32) / 255.0


def _centre_by_mass(patch: np.ndarray, height: int, width: int) -> np.ndarray:
    """Place patch [h,w] in a black [height,width] field with its centre of mass at the centre."""
    rows, cols = np.indices(patch.shape)
    mass = float(patch.sum())
    centre_row = float((rows * patch).sum()) / mass
    centre_col = float((cols * patch).sum()) / mass
    top = int(np.clip(round((height - 1) / 2 - centre_row), 0, height - patch.shape[0]))
    left = int(np.clip(round((width - 1) / 2 - centre_col), 0, width - patch.shape[1]))
    field = np.zeros((height, width), dtype=np.float32)
    field[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    return field


def mnist_style(ink: np.ndarray, height: int = 28, width: int = 28) -> np.ndarray:
    """Bright ink on any background, uint8 [h,w] → an MNIST-like float32 [height,width] in [0, 1].

    Background removal and contrast stretch, crop to the ink's bounding box, fit the longer side
    into 20/28 of the field keeping the aspect ratio, centre by mass. A blank picture (no ink
    above the noise) becomes a black field.
    """
    picture = _shrunk(Image.fromarray(ink), _WORK_SIDE)
    values = np.asarray(picture, dtype=np.float32) / 255.0  # [h,w]
    signal = np.clip(values - _background(picture), 0.0, None)
    # A 3×3 median ignores single hot pixels (JPEG noise) when finding the ink's level.
    despeckled = Image.fromarray(signal, mode="F").filter(ImageFilter.MedianFilter(3))
    level = float(np.asarray(despeckled).max())
    blank = np.zeros((height, width), dtype=np.float32)
    if level < 0.05:  # under 5 % contrast: nothing written
        return blank
    stretched = np.clip((signal / level - _NOISE_FLOOR) / (1 - _NOISE_FLOOR), 0.0, 1.0)
    rows = np.flatnonzero(stretched.max(axis=1) > 0)
    cols = np.flatnonzero(stretched.max(axis=0) > 0)
    crop = stretched[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # the ink's bounding box
    box = max(1, round(_BOX_FRACTION * min(height, width)))
    ratio = box / max(crop.shape)
    size = (max(1, round(crop.shape[1] * ratio)), max(1, round(crop.shape[0] * ratio)))
    patch = np.asarray(
        Image.fromarray(crop, mode="F").resize(size, Image.Resampling.LANCZOS), dtype=np.float32
    )
    patch = np.clip(patch, 0.0, 1.0)
    if float(patch.sum()) <= 0:
        return blank
    return _centre_by_mass(patch, height, width)


def colour_to_pixels(
    image: Image.Image, height: int, width: int, background: tuple[int, int, int]
) -> torch.Tensor:
    """A picture → [3,H,W] in [0, 1]: alpha over the background, fitted, padded with it."""
    picture = Image.fromarray(to_rgb(image, background))  # RGB
    if picture.size != (width, height):
        picture = fit(picture, width, height, background)
    unit = np.asarray(picture, dtype=np.float32) / 255.0  # [H,W,3]
    return torch.from_numpy(np.ascontiguousarray(unit.transpose(2, 0, 1)))


def image_to_pixels(
    image: Image.Image,
    shape: tuple[int, int, int],
    invert: Invert = Invert.auto,
    preprocess: Preprocess | None = None,
    background: tuple[int, int, int] = DEFAULT_BACKGROUND,
) -> torch.Tensor:
    """One decoded picture → the model's input [C,H,W] in [0, 1].

    Grey models: `preprocess=None` chooses `mnist` for pictures of another size than H×W, `fit`
    for pictures already the model's size (taken as they are, MNIST-like already). Colour
    models always fit (`preprocess_choices`); `invert` is for grey ink only and is ignored.
    """
    channels, height, width = shape
    if channels == 3:
        if preprocess == Preprocess.mnist:
            raise ValueError("preprocess=mnist is for grey models")
        return colour_to_pixels(image, height, width, background)
    grey = to_grey(image)  # uint8 [h,w]
    if should_invert(grey, invert):
        grey = 255 - grey
    if preprocess is None:
        preprocess = Preprocess.fit if grey.shape == (height, width) else Preprocess.mnist
    if preprocess == Preprocess.mnist:
        unit = mnist_style(grey, height, width)  # float32 [H,W]
    else:
        picture = Image.fromarray(grey)  # mode L
        if picture.size != (width, height):
            picture = fit(picture, width, height)
        unit = np.asarray(picture, dtype=np.float32) / 255.0
    pixels = torch.from_numpy(np.ascontiguousarray(unit))  # [H,W]
    return pixels.unsqueeze(0).expand(channels, height, width).contiguous()
