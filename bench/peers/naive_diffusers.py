"""A naive FastAPI app that decodes a diffusers AutoencoderKL's latents: what a team writes to
take the VAE off the diffusion GPU, in an afternoon.

`POST /decode.npy` reads a .npy of latents, calls diffusers' own decode in FastAPI's thread
pool (one request at a time per thread, no batching), and answers the pictures as .npy, the
way vae-serve's /decode.npy does. The folder is VAE_BENCH_DIFFUSERS.
"""

from __future__ import annotations

import io
import os

import numpy as np
import torch
from diffusers import AutoencoderKL
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

vae = AutoencoderKL.from_pretrained(os.environ["VAE_BENCH_DIFFUSERS"], local_files_only=True)
vae = vae.eval()
scaling = vae.config.scaling_factor
shift = vae.config.shift_factor or 0.0
app = FastAPI()


@app.get("/readyz")
def ready() -> dict[str, str]:
    return {"status": "ready"}


def _decode(body: bytes) -> bytes:
    latents = torch.from_numpy(np.load(io.BytesIO(body)).astype(np.float32))
    with torch.inference_mode():
        pictures = (vae.decode(latents / scaling + shift).sample / 2 + 0.5).clamp(0, 1)
    out = io.BytesIO()
    np.save(out, pictures.numpy())
    return out.getvalue()


@app.post("/decode.npy")
async def decode(request: Request) -> Response:
    body = await request.body()
    return Response(await run_in_threadpool(_decode, body), media_type="application/x-npy")
