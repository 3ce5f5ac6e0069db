import io

import numpy as np
import pytest
import torch
from PIL import Image

from app.codecs import decode_base64, image_to_tensor, images_to_png, tile
from app.errors import BadImage, PayloadTooLarge
from contract.images import Preprocess
from tests.app.conftest import b64, digit_png

SHAPE = (1, 28, 28)


def encode(image: Image.Image, format: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=format, **options)
    return out.getvalue()


def test_mnist_sized_image_passes_through_unchanged() -> None:
    x = image_to_tensor(digit_png(), SHAPE, 10_000)
    expected = np.asarray(Image.open(io.BytesIO(digit_png())), dtype=np.float32) / 255
    assert torch.equal(x[0], torch.from_numpy(expected))


def test_dark_on_light_drawing_is_inverted_automatically() -> None:
    plain = image_to_tensor(digit_png(), SHAPE, 10_000)
    inverted = image_to_tensor(digit_png(dark_on_light=True), SHAPE, 10_000)
    torch.testing.assert_close(plain, inverted)
    kept = image_to_tensor(digit_png(dark_on_light=True), SHAPE, 10_000, invert="false")
    assert kept.mean() > 0.5


def test_large_non_square_image_is_fitted_with_aspect_kept_without_preprocessing() -> None:
    x = image_to_tensor(digit_png(size=(280, 140)), SHAPE, 1_000_000, preprocess=Preprocess.none)
    assert x.shape == SHAPE
    # The 2:1 picture fills the middle rows only; the padding is black.
    assert float(x[0, :6].max()) == 0.0
    assert float(x[0, 7:21].max()) > 0.5


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "LA", "CMYK", "1", "I;16", "I", "F"])
def test_every_common_mode_becomes_grey(mode: str) -> None:
    image = Image.open(io.BytesIO(digit_png())).convert("L")
    if mode in ("I;16", "I", "F"):
        scale = {"I;16": 257, "I": 257, "F": 1 / 255}[mode]
        array = np.asarray(image).astype(np.float64) * scale
        image = Image.fromarray(
            array.astype({"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode])
        )
        data = encode(image, "TIFF")
    else:
        data = encode(image.convert(mode), "TIFF" if mode == "CMYK" else "PNG")
    x = image_to_tensor(data, SHAPE, 10_000)
    assert x.shape == SHAPE
    assert float(x.min()) >= 0.0
    assert float(x.max()) <= 1.0
    assert float(x[0, 14, 14]) > 0.9  # the bar is ink
    assert float(x[0, 2, 2]) < 0.1  # the corner is background


def test_transparent_background_counts_as_paper() -> None:
    ink = np.zeros((28, 28, 4), dtype=np.uint8)
    ink[5:23, 13:15] = (0, 0, 0, 255)  # black strokes on a transparent canvas
    x = image_to_tensor(encode(Image.fromarray(ink)), SHAPE, 10_000)
    assert float(x[0, 14, 14]) > 0.9
    assert float(x[0, 2, 2]) < 0.1


def test_animated_gif_uses_its_first_frame() -> None:
    first = Image.open(io.BytesIO(digit_png())).convert("P")
    second = Image.new("P", (28, 28), 0)
    data = encode(first, "GIF", save_all=True, append_images=[second])
    assert float(image_to_tensor(data, SHAPE, 10_000)[0, 14, 14]) > 0.9


@pytest.mark.parametrize(
    "data", [b"", b"not an image", digit_png()[:60], b"<svg xmlns='http://www.w3.org/2000/svg'/>"]
)
def test_unreadable_bytes_are_bad_images(data: bytes) -> None:
    with pytest.raises(BadImage):
        image_to_tensor(data, SHAPE, 10_000)


def test_pixel_limit_is_checked_before_decoding() -> None:
    with pytest.raises(PayloadTooLarge, match="pixels"):
        image_to_tensor(digit_png(size=(200, 200)), SHAPE, 10_000)


def test_base64_accepts_data_urls_and_rejects_garbage() -> None:
    png = digit_png()
    assert decode_base64(b64(png)) == png
    assert decode_base64("data:image/png;base64," + b64(png)) == png
    with pytest.raises(BadImage):
        decode_base64("%%%not base64%%%")


def test_grid_is_row_major_without_gaps() -> None:
    images = torch.zeros(5, 1, 2, 2)
    for index in range(5):
        images[index] = index / 4
    grid = tile(images, cols=3)
    assert grid.shape == (4, 6)
    assert grid[0, 0] == 0
    assert grid[0, 2] == 64
    assert grid[0, 4] == 128
    assert grid[2, 0] == 191
    assert grid[2, 4] == 0  # the missing sixth cell stays black


def test_png_is_8_bit_grey_and_upscaled() -> None:
    png = images_to_png(torch.rand(4, 1, 28, 28), cols=2, scale=3)
    image = Image.open(io.BytesIO(png))
    assert image.mode == "L"
    assert image.size == (168, 168)


def test_an_elongated_image_becomes_a_centred_line() -> None:
    out = io.BytesIO()
    Image.new("L", (200, 2), 255).save(out, format="PNG")
    x = image_to_tensor(
        out.getvalue(), (1, 28, 28), 10**6, invert="false", preprocess=Preprocess.none
    )
    assert x.shape == (1, 28, 28)
    inked_rows = (x[0].sum(1) > 0).nonzero().flatten().tolist()
    assert inked_rows == [13]  # one row of ink, in the middle
    assert float(x[0, 13].min()) > 0.9
