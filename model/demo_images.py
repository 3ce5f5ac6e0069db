"""A small folder of images to try `vae-train` on your own data: rings, bars and crosses.

    vae-demo-images data/shapes
    vae-demo-images data/icons --colour

The first writes data/shapes/{train,val}/{0,1,2}/*.png: dark shapes of random size, position and
stroke on off-white paper of random size, the way a folder of scanned or photographed drawings
looks. Sub-folder names become the labels (`/sample?digit=1` draws a bar).

With --colour it writes data/icons/{train,val}/{ring,bar,cross}/*.png: 32×32 RGBA icons, each
shape in its own range of colours on a transparent background, the way a folder of app icons
or sprites looks (`/sample?label=ring` draws a ring).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("ring", "bar", "cross")


def stroke_shape(
    pen: ImageDraw.ImageDraw,
    kind: str,
    box: tuple[int, int, int],
    stroke: int,
    ink: int | tuple[int, ...],
) -> None:
    """Draw a ring, bar or cross in the square (left, top, side) with `ink`."""
    left, top, side = box
    middle_x, middle_y = left + side // 2, top + side // 2
    if kind == "ring":
        pen.ellipse((left, top, left + side, top + side), outline=ink, width=stroke)
        return
    pen.line((middle_x, top, middle_x, top + side), fill=ink, width=stroke)
    if kind == "cross":
        pen.line((left, middle_y, left + side, middle_y), fill=ink, width=stroke)


def draw_shape(kind: str, random: np.random.Generator) -> Image.Image:
    """One shape, dark ink on off-white paper, in a frame of random size."""
    width, height = (int(v) for v in random.integers(40, 160, size=2))
    paper = int(random.integers(200, 250))
    picture = Image.new("L", (width, height), paper)
    pen = ImageDraw.Draw(picture)
    side = int(min(width, height) * random.uniform(0.4, 0.8))
    left = int(random.integers(0, width - side + 1))
    top = int(random.integers(0, height - side + 1))
    stroke = max(2, int(side * random.uniform(0.08, 0.16)))
    ink = int(random.integers(10, 80))
    stroke_shape(pen, kind, (left, top, side), stroke, ink)
    noise = random.normal(0, 4, (height, width))
    return Image.fromarray(np.clip(np.asarray(picture) + noise, 0, 255).astype(np.uint8))


# Each shape's hue range in the colour folder: rings warm, bars green, crosses blue.
ICON_HUES = {"ring": (0, 40), "bar": (80, 140), "cross": (170, 230)}


def draw_icon(kind: str, random: np.random.Generator, size: int = 32) -> Image.Image:
    """One RGBA icon: a shape in a random colour of its hue range, transparent around it."""
    hue = int(random.integers(*ICON_HUES[kind]))
    colour = Image.new("HSV", (1, 1), (hue, int(random.integers(150, 256)), 230))
    fill = (*colour.convert("RGB").getpixel((0, 0)), 255)  # type: ignore[misc]
    picture = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(picture)
    side = int(size * random.uniform(0.55, 0.85))
    left, top = (int(v) for v in random.integers(0, size - side + 1, size=2))
    stroke = max(2, int(side * random.uniform(0.12, 0.22)))
    stroke_shape(pen, kind, (left, top, side), stroke, fill)
    return picture


def write_demo_folder(
    root: Path, train_per_class: int = 200, val_per_class: int = 50, colour: bool = False
) -> Path:
    """`root/{train,val}/{label}/NNNN.png` for each shape; returns root."""
    random = np.random.default_rng(0)
    for split, count in (("train", train_per_class), ("val", val_per_class)):
        for label, kind in enumerate(SHAPES):
            folder = root / split / (kind if colour else str(label))
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                picture = draw_icon(kind, random) if colour else draw_shape(kind, random)
                picture.save(folder / f"{index:04d}.png")
    return root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vae-demo-images", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, metavar="DIR", help="where to write the images")
    parser.add_argument(
        "--train", type=int, default=200, metavar="N", help="images per shape in train/ (200)"
    )
    parser.add_argument(
        "--val", type=int, default=50, metavar="N", help="images per shape in val/ (50)"
    )
    parser.add_argument(
        "--colour", action="store_true", help="32×32 RGBA icons in colour, named classes"
    )
    args = parser.parse_args(argv)
    root = write_demo_folder(args.folder, args.train, args.val, args.colour)
    total = (args.train + args.val) * len(SHAPES)
    print(f"wrote {total} images under {root}/train and {root}/val")  # noqa: T201


if __name__ == "__main__":
    main()
