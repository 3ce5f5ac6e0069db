"""Image grids for evaluation reports (the service has its own codecs; app/ never imports this)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image
from torch import Tensor


def save_grid(images: Tensor, path: str | Path, cols: int | None = None, scale: int = 2) -> Path:
    """Tile [N,1,H,W] images in [0, 1] row-major with no gap and write an 8-bit grey PNG."""
    n, _, height, width = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = np.zeros((rows * height, cols * width), dtype=np.uint8)
    pixels = (images[:, 0].clamp(0, 1) * 255).round().byte().cpu().numpy()  # [N,H,W]
    for index in range(n):
        row, col = divmod(index, cols)
        canvas[row * height : (row + 1) * height, col * width : (col + 1) * width] = pixels[index]
    picture = Image.fromarray(canvas).resize(
        (cols * width * scale, rows * height * scale), Image.Resampling.NEAREST
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    picture.save(target)
    return target
