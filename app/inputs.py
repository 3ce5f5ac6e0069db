"""Read the images of a request: multipart `file` fields, a raw image body, or JSON base64."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from app.codecs import decode_base64
from app.errors import InvalidInput, UnsupportedMediaType
from app.settings import Settings

# A 28×28 PNG of a "1" (a vertical bar), base64: the example body, which Swagger UI's "Try it
# out" and schemathesis send as it is.
EXAMPLE_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAAAAABXZoBIAAAAHElEQVR42mNgGGSAEYX3H1WACZ/OUckRJDkQAADJ8A"
    "EmaOIFkQAAAABJRU5ErkJggg=="
)
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
            "properties": {
                "images": {"type": "array", "items": {"type": "string", "format": "byte"}, **images}
            },
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
    try:
        payload = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidInput(f"body is not valid JSON: {error}") from None
    images = payload.get("images") if isinstance(payload, dict) else None
    if isinstance(payload, dict) and set(payload) - {"images"}:
        unknown = ", ".join(sorted(map(str, set(payload) - {"images"})))
        raise InvalidInput(f"unknown field(s) {unknown}; the JSON body has only 'images'")
    if not isinstance(images, list) or not images or not all(isinstance(i, str) for i in images):
        raise InvalidInput('JSON body must be {"images": [base64 string, ...]} with at least one')
    return [decode_base64(text) for text in images]


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
