"""Every hostile input of the hardening issue, each with the status it must get. Never a 5xx."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.app.conftest import b64, digit_png


def encoded(image: Image.Image, format: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=format, **options)
    return out.getvalue()


def digit(mode: str = "L") -> Image.Image:
    return Image.open(io.BytesIO(digit_png())).convert(mode)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header promises width×height pixels and holds none: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def sixteen_bit() -> bytes:
    array = (np.asarray(digit(), dtype=np.uint16) * 257).astype(np.uint16)
    return encoded(Image.fromarray(array))


def animated(format: str) -> bytes:
    frames = [digit("P" if format == "GIF" else "L"), Image.new("L", (28, 28), 0)]
    return encoded(frames[0], format, save_all=True, append_images=frames[1:])


def deep_json(depth: int) -> bytes:
    return b'{"latents": ' + b"[" * depth + b"]" * depth + b"}"


PNG = "image/png"
IMAGE_CASES: list[tuple[str, Callable[[], bytes], str, int]] = [
    ("truncated PNG", lambda: digit_png()[: len(digit_png()) // 2], PNG, 400),
    ("corrupt bytes", lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, PNG, 400),
    ("zero-byte body", lambda: b"", PNG, 400),
    ("16-bit greyscale PNG", sixteen_bit, PNG, 200),
    ("palette PNG", lambda: encoded(digit("P")), PNG, 200),
    ("CMYK JPEG", lambda: encoded(digit("CMYK"), "JPEG"), "image/jpeg", 200),
    ("RGBA with alpha", lambda: encoded(digit("RGBA")), PNG, 200),
    ("animated GIF: first frame", lambda: animated("GIF"), "image/gif", 200),
    ("animated PNG: first frame", lambda: animated("PNG"), PNG, 200),
    ("huge dimensions 5000x5000", lambda: encoded(Image.new("L", (5000, 5000))), PNG, 413),
    ("decompression bomb header", lambda: png_header_only(100_000, 100_000), PNG, 413),
    (
        "SVG sent as an image",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        "image/svg+xml",
        400,
    ),
    ("text sent as PNG", lambda: b"hello, I am not a picture", PNG, 400),
    ("PNG with a wrong Content-Type", digit_png, "text/plain", 415),
    ("PNG as octet-stream", digit_png, "application/octet-stream", 200),
    ("no Content-Type", digit_png, "", 415),
    ("elongated 200x2", lambda: encoded(Image.new("L", (200, 2), 255)), PNG, 200),
    ("elongated 1x10000", lambda: encoded(Image.new("L", (1, 10000), 255)), PNG, 200),
]


@pytest.mark.parametrize(
    ("case", "body", "content_type", "status"), IMAGE_CASES, ids=[case[0] for case in IMAGE_CASES]
)
def test_hostile_images(
    client: TestClient, case: str, body: Callable[[], bytes], content_type: str, status: int
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/encode", content=body(), headers=headers)
    assert response.status_code == status, (case, response.text)
    assert response.headers["content-type"] == "application/json"
    if status >= 400:
        assert response.json()["detail"]


JSON_CASES: list[tuple[str, str, bytes, int]] = [
    ("NaN latent", "/decode", b'{"latents": [NaN, 0, 0, 0]}', 422),
    ("Infinity latent", "/decode", b'{"latents": [Infinity, 0, 0, 0]}', 422),
    ("huge latent value", "/decode", b'{"latents": [1e300, 0, 0, 0]}', 422),
    ("string latent", "/decode", b'{"latents": ["zero", 0, 0, 0]}', 422),
    ("latents not a list", "/decode", b'{"latents": 7}', 422),
    ("body not an object", "/decode", b"[1, 2, 3]", 422),
    ("malformed JSON", "/decode", b'{"latents": [0, 0', 400),
    ("deeply nested JSON", "/decode", deep_json(50_000), 400),
    (
        "deeply nested JSON images",
        "/encode",
        b'{"images": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        400,  # as for every JSON route: one reader (app.bodies), one code
    ),
    (
        "too many latents",
        "/decode",
        ('{"latents": [' + ",".join(["[0,0,0,0]"] * 300) + "]}").encode(),
        422,
    ),
    ("huge array over the body cap", "/decode", b'{"latents": [' + b"0," * 3_000_000 + b"0]}", 413),
    ("n above the limit", "/sample", b'{"n": 1000}', 422),
    ("NaN temperature", "/sample", b'{"temperature": NaN}', 422),
    (
        "steps above the limit",
        "/interpolate",
        b'{"latents": [[0,0,0,0],[1,1,1,1]], "steps": 1000}',
        422,
    ),
    ("unknown field", "/sample", b'{"n": 1, "mystery": true}', 422),
    (
        "base64 that is not an image",
        "/encode",
        ('{"images": ["' + b64(b"nope") + '"]}').encode(),
        400,
    ),
    (
        "too many images",
        "/encode",
        ('{"images": [' + ",".join([f'"{b64(digit_png())}"'] * 65) + "]}").encode(),
        422,
    ),
]


@pytest.mark.parametrize(
    ("case", "path", "body", "status"), JSON_CASES, ids=[case[0] for case in JSON_CASES]
)
def test_hostile_json(client: TestClient, case: str, path: str, body: bytes, status: int) -> None:
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, (case, response.text[:300])
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("scale=17", 422),
        ("scale=0", 422),
        ("cols=65", 422),
        ("n=65", 422),
        ("n=-1", 422),
        ("seed=99999999999999999999", 422),
        ("temperature=inf", 422),
        ("temperature=11", 422),
        ("digit=ten", 422),
        ("format=bmp", 422),
        ("model=" + "x" * 300, 422),
    ],
)
def test_hostile_queries(client: TestClient, query: str, status: int) -> None:
    response = client.get(f"/sample?{query}")
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_wrong_method_and_unknown_route(client: TestClient) -> None:
    assert client.get("/decode").status_code == 405
    assert client.get("/nowhere").status_code == 404


@pytest.mark.parametrize("size", [(200, 2), (1, 10000), (2, 200)])
def test_elongated_images_are_fitted_on_every_image_route(
    client: TestClient, size: tuple[int, int]
) -> None:
    """The short side keeps one pixel (it used to round to 0 px and give a 500)."""
    line = encoded(Image.new("L", size, 255))
    for path in ("/encode", "/reconstruct", "/score"):
        response = client.post(path, content=line, headers={"Content-Type": PNG})
        assert response.status_code == 200, (path, response.text)
    strip = client.post("/interpolate", json={"images": [b64(line), b64(digit_png())], "steps": 3})
    assert strip.status_code == 200, strip.text
