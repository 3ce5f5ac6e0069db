"""A naive FastAPI app over the same artifact: what a user writes in an afternoon.

Plain `def` routes, so FastAPI runs each in its thread pool: decode and PNG per request, no
batching. Reads the artifact named by VAE_BENCH_WEIGHTS with torch.jit.load.
"""

from __future__ import annotations

import base64
import io
import os

import numpy as np
import torch
from fastapi import FastAPI, Request
from fastapi.responses import Response
from PIL import Image
from pydantic import BaseModel

from bench.peers.artifact import load, png

module, (channels, height, width), latent_dim = load(os.environ["VAE_BENCH_WEIGHTS"])
app = FastAPI()


class Latents(BaseModel):
    latents: list[list[float]]


@app.get("/readyz")
def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.get("/sample")
def sample(n: int = 1, seed: int | None = None) -> Response:
    generator = torch.Generator().manual_seed(seed if seed is not None else 0)
    with torch.inference_mode():
        images = module.decode(torch.randn((n, latent_dim), generator=generator))
    if n == 1:
        return Response(png(images[0]), media_type="image/png")
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = torch.zeros(channels, rows * height, cols * width)
    for index, image in enumerate(images):
        row, col = divmod(index, cols)
        grid[:, row * height : (row + 1) * height, col * width : (col + 1) * width] = image
    return Response(png(grid), media_type="image/png")


@app.post("/decode")
def decode(body: Latents) -> dict[str, list[str]]:
    with torch.inference_mode():
        images = module.decode(torch.tensor(body.latents))
    return {"images": [base64.b64encode(png(image)).decode() for image in images]}


@app.post("/encode")
async def encode(request: Request) -> dict[str, list[list[float]]]:
    data = await request.body()
    mode = "L" if channels == 1 else "RGB"
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert(mode).resize((width, height)))
    x = torch.from_numpy(pixels.astype(np.float32) / 255.0).reshape(height, width, channels)
    x = x.permute(2, 0, 1)[None]
    with torch.inference_mode():
        mean, logvar = module.encode(x)
    return {"mean": mean.tolist(), "logvar": logvar.tolist()}
