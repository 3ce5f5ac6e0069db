"""/interpolate.gif|.webp and /walk.gif|.webp, read back by Pillow: frame count, frame times,
the loop flag, and frames equal to the tiles of the PNG strip of the same path."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.app.conftest import decode_png, make_client, wait_ready
from tests.app.routes.test_colour import colour  # noqa: F401 (the colour server fixture)


def frames_of(data: bytes, format: str) -> tuple[list[np.ndarray], list[int], int | None]:
    """Every frame as an array (grey or RGB, like the strip), each frame's ms, the loop."""
    animation = Image.open(io.BytesIO(data))
    assert animation.format == format
    frames, durations = [], []
    for index in range(animation.n_frames):
        animation.seek(index)
        frame = animation.convert("RGB")  # loads the frame, and with it its info
        durations.append(animation.info["duration"])
        frames.append(np.asarray(frame))
    return frames, durations, animation.info.get("loop")


def tiles(strip_png: bytes, count: int) -> list[np.ndarray]:
    strip = np.asarray(decode_png(strip_png).convert("RGB"))
    width = strip.shape[1] // count
    return [strip[:, i * width : (i + 1) * width] for i in range(count)]


def seeded_latent(client: TestClient, seed: int, model: str = "tiny") -> list[float]:
    body = client.get(f"/sample.json?seed={seed}&model={model}").json()
    return body["latents"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("model", ["tiny", "tiny-colour"])
def test_a_webp_frame_is_its_strip_tile_exactly(colour: TestClient, model: str) -> None:  # noqa: F811
    query = f"seed_a=3&seed_b=9&steps=6&fps=20&scale=2&model={model}"
    response = colour.get(f"/interpolate.webp?{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    frames, durations, loop = frames_of(response.content, "WEBP")
    assert len(frames) == 6
    assert durations == [50] * 6
    assert loop == 0
    ends = [seeded_latent(colour, 3, model), seeded_latent(colour, 9, model)]
    strip = colour.post(
        f"/interpolate?scale=2&model={model}", json={"latents": ends, "steps": 6}
    ).content
    for frame, tile in zip(frames, tiles(strip, 6), strict=True):
        assert np.array_equal(frame, tile)
    # End A is exactly the sample of seed_a.
    first = np.asarray(decode_png(colour.get(f"/sample?seed=3&scale=2&model={model}").content))
    assert np.array_equal(frames[0], first if first.ndim == 3 else np.stack([first] * 3, -1))


@pytest.mark.parametrize(("model", "tolerance"), [("tiny", 0), ("tiny-colour", 40)])
def test_a_gif_frame_is_its_tile_within_the_palette(
    colour: TestClient,  # noqa: F811
    model: str,
    tolerance: int,
) -> None:
    response = colour.get(f"/interpolate.gif?seed_a=3&seed_b=9&steps=5&model={model}")
    assert response.headers["content-type"] == "image/gif"
    frames, durations, loop = frames_of(response.content, "GIF")
    assert len(frames) == 5
    assert durations == [100] * 5
    assert loop == 0
    ends = [seeded_latent(colour, 3, model), seeded_latent(colour, 9, model)]
    strip = colour.post(f"/interpolate?model={model}", json={"latents": ends, "steps": 5}).content
    for frame, tile in zip(frames, tiles(strip, 5), strict=True):
        error = np.abs(frame.astype(int) - tile.astype(int))
        assert error.max() <= tolerance  # grey: exact; colour: 256 colours a frame
        assert error.mean() <= tolerance / 8


def test_bounce_plays_back_without_repeating_the_ends(client: TestClient) -> None:
    data = client.get("/interpolate.webp?seed_a=1&seed_b=2&steps=5&bounce=true&loop=3").content
    frames, _, loop = frames_of(data, "WEBP")
    assert len(frames) == 8
    assert loop == 3
    for forward, back in ((3, 5), (2, 6), (1, 7)):
        assert np.array_equal(frames[forward], frames[back])


def test_a_body_animation_is_the_strip_of_that_body(client: TestClient) -> None:
    body = {"latents": [[1.0, 0.0, 0.5, -0.5], [0.0, 1.0, -0.5, 0.5]], "steps": 4}
    response = client.post("/interpolate.webp?fps=5", json=body)
    assert response.status_code == 200, response.text
    assert "cache-control" not in response.headers  # a POST answer: caches never keep it
    frames, durations, _ = frames_of(response.content, "WEBP")
    assert durations == [200] * 4
    for frame, tile in zip(
        frames, tiles(client.post("/interpolate", json=body).content, 4), strict=True
    ):
        assert np.array_equal(frame, tile)


def test_a_walk_passes_through_the_samples_and_loops(client: TestClient) -> None:
    response = client.get("/walk.webp?n=3&steps=4&seed=5")
    assert response.status_code == 200, response.text
    assert response.headers["x-seed"] == "5"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    frames, _, loop = frames_of(response.content, "WEBP")
    assert len(frames) == 12
    assert loop == 0
    samples = client.get("/sample?n=3&seed=5&cols=3").content
    for key, tile in zip((0, 4, 8), tiles(samples, 3), strict=True):
        assert np.array_equal(frames[key], tile)
    again = client.get(
        "/walk.webp?n=3&steps=4&seed=5", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


def test_an_unseeded_walk_names_its_seed_and_is_not_stored(client: TestClient) -> None:
    response = client.get("/walk.gif?n=2&steps=2")
    assert response.headers["cache-control"] == "no-store"
    seed = response.headers["x-seed"]
    assert client.get(f"/walk.gif?n=2&steps=2&seed={seed}").content == response.content


@pytest.fixture(scope="module")
def small(weights_dir: Path) -> Iterator[TestClient]:
    with make_client(weights_dir, max_frames=10, max_animation_pixels=28 * 28 * 8) as client:
        wait_ready(client)
        yield client


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/walk.gif?n=4&steps=4", "frames = 16; the limit is 10 (VAE_MAX_FRAMES)"),
        ("/interpolate.webp?seed_a=1&seed_b=2&steps=9", "(VAE_MAX_ANIMATION_PIXELS)"),
        (
            "/interpolate.webp?seed_a=1&seed_b=2&steps=7&bounce=true",
            "frames = 12; the limit is 10 (VAE_MAX_FRAMES)",
        ),
        ("/interpolate.webp?seed_a=1&seed_b=2&steps=65", "(VAE_MAX_STEPS)"),
        ("/interpolate.webp?seed_a=1&seed_b=2&steps=4&scale=2", "(VAE_MAX_ANIMATION_PIXELS)"),
        ("/interpolate.gif?seed_a=1&steps=4", "query.seed_b: Field required"),
        ("/interpolate.gif?seed_a=1&seed_b=2&fps=0", "query.fps"),
        ("/interpolate.gif?seed_a=1&seed_b=2&fps=51", "query.fps"),
        ("/walk.webp?n=1", "query.n"),
        ("/walk.webp?k=3", "unknown query parameter(s) k"),
    ],
)
def test_over_a_limit_is_a_422_that_names_it(small: TestClient, path: str, fragment: str) -> None:
    response = small.get(path)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["detail"]
