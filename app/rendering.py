"""Turn a batch of images into the response the client asked for, off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from app.codecs import images_to_base64, images_to_png
from app.deps import Output

PNG_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        "description": "a PNG (one image, or a grid/strip), or JSON with ?format=json",
    }
}


async def render(
    images: torch.Tensor,
    output: Output,
    json_body: Callable[[list[str]], dict[str, Any]],
    headers: dict[str, str] | None = None,
    strip: bool = False,
) -> Response:
    """PNG bytes (a grid, or one row for `strip`) or JSON built from base64 PNGs."""
    if output.png:
        cols = len(images) if strip else output.cols
        png = await run_in_threadpool(images_to_png, images, cols, output.scale)
        return Response(png, media_type="image/png", headers=headers)
    encoded = await run_in_threadpool(images_to_base64, images, output.scale)
    return JSONResponse(json_body(encoded), headers=headers)
