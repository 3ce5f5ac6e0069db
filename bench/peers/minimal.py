"""The floor of per-request work: vae-serve's design and nothing else, in one process.

A bare ASGI app under uvicorn (uvloop, httptools). One inference thread takes every pending
request, draws each z, decodes the batch, encodes each PNG, and wakes the event loop once per
batch. `gc.freeze()` after warm-up. No validation, logging, metrics or ids: whatever vae-serve
costs above this row is per-request work around the model. Serves GET /sample?n=1 and /readyz.
"""

from __future__ import annotations

import asyncio
import gc
import os
import queue
import threading
from typing import Any

import torch

from bench.peers.artifact import load, png

module, _, latent_dim = load(os.environ["VAE_BENCH_WEIGHTS"])
jobs: queue.Queue[tuple[asyncio.AbstractEventLoop, asyncio.Future[bytes], int]] = queue.Queue()


def settle(replies: list[tuple[asyncio.Future[bytes], bytes]]) -> None:
    for future, body in replies:
        future.set_result(body)


def infer() -> None:
    while True:
        batch = [jobs.get()]
        while not jobs.empty():
            batch.append(jobs.get_nowait())
        z = torch.cat(
            [
                torch.randn(1, latent_dim, generator=torch.Generator().manual_seed(s))
                for _, _, s in batch
            ]
        )  # [B,D]
        with torch.inference_mode():
            images = module.decode(z)  # [B,C,H,W]
        replies = [
            (future, png(image)) for (_, future, _), image in zip(batch, images, strict=True)
        ]
        batch[0][0].call_soon_threadsafe(settle, replies)


threading.Thread(target=infer, daemon=True).start()
with torch.inference_mode():
    module.decode(torch.zeros(1, latent_dim))
gc.freeze()
PNG_HEADERS = [(b"content-type", b"image/png")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/readyz":
        body, headers = b'{"status":"ready"}', [(b"content-type", b"application/json")]
    else:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        jobs.put((loop, future, 0))
        body, headers = await future, PNG_HEADERS
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
