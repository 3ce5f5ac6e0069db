"""Turn a batch of images into the response the client asked for, in a sized thread pool."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch
from fastapi.responses import JSONResponse, Response

from app.codecs import images_to_base64, images_to_png
from app.metrics import Metrics

PNG_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        "description": "a PNG (one image, or a grid/strip), or JSON with ?format=json",
    }
}


@dataclass(frozen=True)
class Output:
    """How to answer: PNG (one image or a grid) or JSON, and the PNG options."""

    png: bool
    scale: int
    cols: int | None


class Renderer:
    """PNG and base64 encoding off the event loop, in VAE_PNG_THREADS threads."""

    def __init__(self, threads: int, metrics: Metrics) -> None:
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="png")
        self.metrics = metrics

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    async def _in_pool(self, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = await asyncio.get_running_loop().run_in_executor(self.pool, work)
        self.metrics.encode_seconds.observe(time.perf_counter() - started)
        return result

    async def render(
        self,
        images: torch.Tensor,
        output: Output,
        json_body: Callable[[list[str]], dict[str, Any]],
        headers: dict[str, str] | None = None,
        strip: bool = False,
    ) -> Response:
        """PNG bytes (a grid, or one row for `strip`) or JSON built from base64 PNGs."""
        if output.png:
            cols = len(images) if strip else output.cols
            png = await self._in_pool(lambda: images_to_png(images, cols, output.scale))
            return Response(png, media_type="image/png", headers=headers)
        encoded = await self._in_pool(lambda: images_to_base64(images, output.scale))
        return JSONResponse(json_body(encoded), headers=headers)
