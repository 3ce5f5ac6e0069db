"""Turn a batch of images into the response the client asked for.

The encoding (PNG bytes, or base64 PNGs for JSON) runs in the inference thread, right after the
batch that made the images (see `app.worker`), so a request changes threads only once; the
event loop only wraps the bytes in a response.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse, Response
from torch import Tensor

from app.codecs import images_to_base64, images_to_png
from app.errors import InvalidInput

# The PNG bytes' media types: image/png, or application/octet-stream when the client's Accept
# asks for that (generated clients read octet-stream as bytes; most know no image/png).
PNG_MEDIA_TYPES = ("image/png", "application/octet-stream")
Encoded = bytes | list[str]


def check_output_budget(
    images: int, shape: tuple[int, int, int], scale: int, max_values: int | None
) -> int:
    """`images` pictures of `shape` upscaled by `scale`, in values; a 422 naming
    VAE_MAX_OUTPUT_VALUES when that is over `max_values`."""
    channels, height, width = shape
    values = images * channels * height * width * scale**2
    if max_values is not None and values > max_values:
        raise InvalidInput(
            f"this answer would hold {images} × {channels}×{height * scale}×"
            f"{width * scale} = {values:,} values; the limit is {max_values:,} "
            "(VAE_MAX_OUTPUT_VALUES): ask for fewer images or a smaller scale"
        )
    return values


@dataclass(frozen=True)
class Output:
    """How to answer: PNG (one image or a grid) or JSON, and the PNG options."""

    png: bool
    scale: int
    cols: int | None
    media_type: str = PNG_MEDIA_TYPES[0]
    max_values: int | None = None  # VAE_MAX_OUTPUT_VALUES

    @property
    def form(self) -> str:
        """What the bytes are: `json`, or the PNG's media type (for ETags)."""
        return self.media_type if self.png else "json"

    def check_budget(self, images: int, shape: tuple[int, int, int]) -> int:
        """The answer's size in values (`images` pictures of `shape`, scaled); 422 before any
        model work when that is over the output budget."""
        return check_output_budget(images, shape, self.scale, self.max_values)

    def encoder(self, strip: bool = False) -> Callable[[Tensor], Encoded]:
        """images [N,C,H,W] → one PNG (a grid, or one row for `strip`), or N base64 PNGs."""
        if self.png:
            return lambda images: images_to_png(
                images, len(images) if strip else self.cols, self.scale
            )
        return lambda images: images_to_base64(images, self.scale)

    def respond(
        self,
        encoded: Encoded,
        json_body: Callable[[list[str]], dict[str, Any]],
        headers: dict[str, str] | None = None,
    ) -> Response:
        if isinstance(encoded, bytes):
            return Response(encoded, media_type=self.media_type, headers=headers)
        return JSONResponse(json_body(encoded), headers=headers)
