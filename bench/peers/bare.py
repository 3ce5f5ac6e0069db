"""The HTTP ceiling: a bare FastAPI endpoint that returns a fixed tiny PNG, nothing else."""

from __future__ import annotations

import io

from fastapi import FastAPI
from fastapi.responses import Response
from PIL import Image

_buffer = io.BytesIO()
Image.new("L", (28, 28)).save(_buffer, format="PNG")
PNG = _buffer.getvalue()

app = FastAPI()


@app.get("/readyz")
async def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.get("/sample")
async def sample() -> Response:
    return Response(PNG, media_type="image/png")
