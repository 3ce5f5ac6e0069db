"""A small folder of images to try `vae-train` on your own data: rings, bars and crosses.

    vae-demo-images data/shapes

writes data/shapes/{train,val}/{0,1,2}/*.png: dark shapes of random size, position and stroke
on off-white paper of random size, the way a folder of scanned or photographed drawings looks.
Sub-folder names become the labels (`/sample?digit=1` draws a bar).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("ring", "bar", "cross")


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
    middle_x, middle_y = left + side // 2, top + side // 2
    if kind == "ring":
        pen.ellipse((left, top, left + side, top + side), outline=ink, width=stroke)
    elif kind == "bar":
        pen.line((middle_x, top, middle_x, top + side), fill=ink, width=stroke)
    else:
        pen.line((middle_x, top, middle_x, top + side), fill=ink, width=stroke)
        pen.line((left, middle_y, left + side, middle_y), fill=ink, width=stroke)
    noise = random.normal(0, 4, (height, width))
    return Image.fromarray(np.clip(np.asarray(picture) + noise, 0, 255).astype(np.uint8))


def write_demo_folder(root: Path, train_per_class: int = 200, val_per_class: int = 50) -> Path:
    """`root/{train,val}/{label}/NNNN.png` for each shape; returns root."""
    random = np.random.default_rng(0)
    for split, count in (("train", train_per_class), ("val", val_per_class)):
        for label, kind in enumerate(SHAPES):
            folder = root / split / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                draw_shape(kind, random).save(folder / f"{index:04d}.png")
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
    args = parser.parse_args(argv)
    root = write_demo_folder(args.folder, args.train, args.val)
    total = (args.train + args.val) * len(SHAPES)
    print(f"wrote {total} images under {root}/train and {root}/val")  # noqa: T201


if __name__ == "__main__":
    main()
