"""Image grids for evaluation reports (the service has its own codecs; app/ never imports this)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image
from torch import Tensor


def save_grid(images: Tensor, path: str | Path, cols: int | None = None, scale: int = 2) -> Path:
    """Tile [N,C,H,W] images in [0, 1] row-major with no gap and write an 8-bit PNG: grey for
    C = 1, RGB for C = 3."""
    n, channels, height, width = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = np.zeros((rows * height, cols * width, channels), dtype=np.uint8)
    pixels = (images.clamp(0, 1) * 255).round().byte().cpu().numpy().transpose(0, 2, 3, 1)
    for index in range(n):
        row, col = divmod(index, cols)
        canvas[row * height : (row + 1) * height, col * width : (col + 1) * width] = pixels[index]
    picture = Image.fromarray(canvas[:, :, 0] if channels == 1 else canvas).resize(
        (cols * width * scale, rows * height * scale), Image.Resampling.NEAREST
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    picture.save(target)
    return target
