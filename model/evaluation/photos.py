"""Synthetic "photos" of handwritten digits: what a phone camera makes of a digit on paper.

Used to check that the service's MNIST-style preprocessing (contract.images) recovers digits the
model can read: dark ink, off-white shaded paper, noise, a slight rotation, the digit off-centre
in a large frame, and JPEG compression.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def photo_of(
    digit: np.ndarray, seed: int, size: tuple[int, int] = (1000, 800), quality: int = 85
) -> bytes:
    """One MNIST digit, uint8 [28,28] white on black → JPEG bytes of a `size` (w, h) photo."""
    random = np.random.default_rng(seed)
    width, height = size
    # The digit, about half the frame tall, rotated a few degrees, as ink coverage in [0, 1].
    side = int(height * random.uniform(0.45, 0.6))
    ink = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    ink = ink.rotate(random.uniform(-8, 8), Image.Resampling.BICUBIC, expand=True)
    coverage = np.zeros((height, width), dtype=np.float32)
    top = int(random.integers(0, height - ink.height))
    left = int(random.integers(0, width - ink.width))
    coverage[top : top + ink.height, left : left + ink.width] = np.asarray(ink) / 255.0
    # Paper: off-white with a linear shading across the page and a darker corner.
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = random.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * cols / width + np.sin(angle) * rows / height) * random.uniform(25, 45)
    paper = random.uniform(215, 240) - ramp + ramp.mean()
    ink_level = random.uniform(25, 70)
    pixels = paper * (1 - coverage) + ink_level * coverage
    pixels += random.normal(0.0, random.uniform(3, 7), pixels.shape)  # sensor noise
    rgb = np.clip(pixels, 0, 255).astype(np.uint8)[:, :, None] * np.array([1.0, 0.98, 0.93])
    out = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8), mode="RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()
