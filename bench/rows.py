"""What the benchmark sends: one wrk request and connection count per table row."""

from __future__ import annotations

import io
import json

import torch
from PIL import Image

from bench.wrk import Request


def png_digit() -> bytes:
    out = io.BytesIO()
    canvas = Image.new("L", (28, 28), 0)
    canvas.paste(255, (12, 5, 16, 23))  # a "1"
    canvas.save(out, format="PNG")
    return out.getvalue()


LATENTS_64 = json.dumps(
    {"latents": torch.randn(64, 32, generator=torch.Generator().manual_seed(0)).tolist()}
).encode()
# row name → (request for our API and the naive peer, connections)
ROWS: dict[str, tuple[Request, int]] = {
    "/sample n=1 PNG, C=1": (Request("/sample?n=1"), 1),
    "/sample n=1 PNG, C=32": (Request("/sample?n=1"), 32),
    "/sample n=1 PNG, C=64": (Request("/sample?n=1"), 64),
    "/sample n=64 grid PNG, C=8": (Request("/sample?n=64"), 8),
    "/encode one PNG, C=32": (Request("/encode", "POST", png_digit(), "image/png"), 32),
    "/decode 64 latents JSON, C=8": (
        Request("/decode?format=json", "POST", LATENTS_64, "application/json"),
        8,
    ),
}
# The colour model's row: every server serves the colour artifact for it (bench.run).
COLOUR_ROW = "/sample n=1 PNG colour 64x64x3, C=32"
ROWS[COLOUR_ROW] = (Request("/sample?n=1"), 32)
# LitServe serves POST only.
LIT_SAMPLE = Request("/sample", "POST", b'{"n": 1}', "application/json")

# Head of line: the small request at C=16 alone, then again while a second wrk sends large
# grids at C=2 (bench.run runs it in the background). /sample?n=64&scale=6 is 64 digits
# upscaled to 168×168, 1.8 M values, the largest grid within the default output budget.
ALONE_ROW = "/sample n=1 PNG, C=16 alone"
BEHIND_ROW = "/sample n=1 PNG, C=16, large grids at C=2"
LARGE_GRID = Request("/sample?n=64&scale=6")
ROWS[ALONE_ROW] = (Request("/sample?n=1"), 16)
ROWS[BEHIND_ROW] = (Request("/sample?n=1"), 16)
BACKGROUND: dict[str, tuple[Request, int]] = {BEHIND_ROW: (LARGE_GRID, 2)}
# Caching: a seeded /sample in full, and the same URL revalidated (If-None-Match: * holds any
# tag, so every answer is a 304 with no model work). Only vae-serve answers 304s.
SEEDED_ROW = "/sample n=1 seed=1 PNG, C=32"
NOT_MODIFIED_ROW = "/sample n=1 seed=1 If-None-Match → 304, C=32"
ROWS[SEEDED_ROW] = (Request("/sample?n=1&seed=1"), 32)
ROWS[NOT_MODIFIED_ROW] = (Request("/sample?n=1&seed=1", headers=(("If-None-Match", "*"),)), 32)
# The rows every peer serves; the large grids need a server that reads n and scale.
SAMPLE_ROWS = tuple(
    name for name in ROWS if name.startswith("/sample n=1 PNG") and name not in BACKGROUND
)
OURS_ONLY = (SEEDED_ROW, NOT_MODIFIED_ROW)
