"""A small labelled folder of RGBA pictures, made by the tests: suns and leaves on transparency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# Class name → the colour it is drawn in: the names are not digits, on purpose.
CLASSES = {"leaves": (40, 160, 60), "suns": (250, 200, 30)}


def draw_picture(label: str, random: np.random.Generator, size: int = 32) -> Image.Image:
    """One RGBA picture: a coloured disc (suns) or triangle (leaves), transparent around it."""
    picture = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(picture)
    side = int(size * random.uniform(0.5, 0.8))
    left, top = (int(v) for v in random.integers(0, size - side + 1, size=2))
    colour = tuple(int(np.clip(c + random.integers(-20, 21), 0, 255)) for c in CLASSES[label])
    if label == "suns":
        pen.ellipse((left, top, left + side, top + side), fill=(*colour, 255))
    else:
        pen.polygon(
            [(left, top + side), (left + side, top + side), (left + side // 2, top)],
            fill=(*colour, 255),
        )
    return picture


def write_colour_folder(root: Path, per_class: int = 24, val_per_class: int = 8) -> Path:
    """`root/{train,val}/{leaves,suns}/NNN.png`, RGBA 32×32; returns root."""
    random = np.random.default_rng(0)
    for split, count in (("train", per_class), ("val", val_per_class)):
        for label in CLASSES:
            folder = root / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                draw_picture(label, random).save(folder / f"{index:03d}.png")
    return root
