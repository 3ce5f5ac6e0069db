"""Read the images of a request: multipart `file` fields, a raw image body, or JSON base64."""

from __future__ import annotations

from typing import Any

import torch
from fastapi import Request
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.bodies import BASE64_IMAGES, read_json
from app.codecs import decode_base64, image_to_tensor, open_image
from app.deps import Served
from app.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from app.latents import fitted_size
from app.schemas import Base64Image
from app.settings import Settings
from contract.images import Invert, Preprocess

# A 28×28 PNG of a "1" (a vertical bar), base64: the example body, which Swagger UI's "Try it
# out" and schemathesis send as it is.
EXAMPLE_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAAAAABXZoBIAAAAHElEQVR42mNgGGSAEYX3H1WACZ/OUckRJDkQAADJ8A"
    "EmaOIFkQAAAABJRU5ErkJggg=="
)
# One base64 string as the JSON reader checks it (not empty; base64 characters).
BASE64_IMAGE_SCHEMA: dict[str, Any] = TypeAdapter(Base64Image).json_schema()
ACCEPTED = "multipart/form-data (field 'file'), image/* (raw body) or application/json"


def image_body_schemas(max_images: int) -> dict[str, dict[str, Any]]:
    """The two structured forms of an image upload, as schema components shared by /encode,
    /reconstruct and /score (so generated clients have one type for each)."""
    images = {"minItems": 1, "maxItems": max_images}
    return {
        "ImageFiles": {
            "type": "object",
            "title": "ImageFiles",
            "description": "multipart/form-data: the field `file`, once per image",
            "required": ["file"],
            "properties": {
                "file": {"type": "array", "items": {"type": "string", "format": "binary"}, **images}
            },
        },
        "Base64Images": {
            "type": "object",
            "title": "Base64Images",
            "description": "JSON: base64 PNG or JPEG strings (a data: URL prefix is allowed)",
            "required": ["images"],
            "additionalProperties": False,
            "properties": {"images": {"type": "array", "items": BASE64_IMAGE_SCHEMA, **images}},
            "example": {"images": [EXAMPLE_PNG]},
        },
    }


# OpenAPI description of the three request forms of /encode, /reconstruct and /score. A raw body
# is documented as application/octet-stream, which generated clients send as bytes; image/png,
# image/jpeg (any image/*) work as well.
IMAGE_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One or more images: multipart field `file` (repeatable), a raw image "
        "body (application/octet-stream or image/*), or JSON with base64 PNG/JPEG strings.",
        "content": {
            "multipart/form-data": {"schema": {"$ref": "#/components/schemas/ImageFiles"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/Base64Images"}},
        },
    }
}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _from_multipart(request: Request, settings: Settings) -> list[bytes]:
    limits = {"max_files": settings.max_images + 1, "max_fields": settings.max_images + 16}
    async with request.form(**limits) as form:  # closes the spooled upload files
        uploads = [item for item in form.getlist("file") if isinstance(item, UploadFile)]
        if not uploads:
            raise InvalidInput("multipart body needs one or more files in the field 'file'")
        return [await upload.read() for upload in uploads]


async def _from_json(request: Request) -> list[bytes]:
    body = await read_json(request, BASE64_IMAGES)
    return [decode_base64(text) for text in body.images]


async def read_images(request: Request, settings: Settings) -> list[bytes]:
    """The request's images as raw bytes, at most settings.max_images of them."""
    media_type = _media_type(request)
    if media_type == "multipart/form-data":
        images = await _from_multipart(request, settings)
    elif media_type == "application/json":
        images = await _from_json(request)
    elif media_type.startswith("image/") or media_type == "application/octet-stream":
        images = [await request.body()]
    else:
        shown = media_type or "no Content-Type"
        raise UnsupportedMediaType(f"cannot read images from {shown}; send {ACCEPTED}")
    if len(images) > settings.max_images:
        raise InvalidInput(
            f"{len(images)} images in one request; the limit is "
            f"{settings.max_images} (VAE_MAX_IMAGES)"
        )
    return images


async def decode_images(
    target: Served,
    raw: list[bytes],
    invert: Invert = Invert.auto,
    preprocess: Preprocess | None = None,
) -> torch.Tensor:
    """The images as the model's input [N,C,H,W] in [0, 1]. Their headers are read first (each
    within VAE_MAX_IMAGE_PIXELS, all together within VAE_MAX_REQUEST_PIXELS: a 413 before any
    pixel is decoded); then the pixels are decoded off the event loop, holding their count in
    the uploads stage (a 429 when VAE_MAX_DECODING_PIXELS are being decoded already)."""
    settings, model = target.settings, target.model
    opened = [open_image(data, settings.max_image_pixels) for data in raw]
    pixels = sum(image.width * image.height for image in opened)
    if pixels > settings.max_request_pixels:
        raise PayloadTooLarge(
            f"this request's {len(opened)} images hold {pixels:,} pixels; the limit is "
            f"{settings.max_request_pixels:,} (VAE_MAX_REQUEST_PIXELS)"
        )
    # A model that takes any size reads them at the first one's size, rounded to a size it
    # takes; every other model at its own.
    shape = fitted_size(model, opened[0].height, opened[0].width)
    target.uploads.admit(pixels)
    try:
        return await run_in_threadpool(
            lambda: torch.stack(
                [
                    image_to_tensor(
                        image,
                        shape,
                        settings.max_image_pixels,
                        invert,
                        preprocess,
                        model.background,
                    )
                    for image in opened
                ]
            )
        )
    finally:
        target.uploads.release(pixels)
