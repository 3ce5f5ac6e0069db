from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import b64, digit_png, make_client, wait_ready


def test_json_multipart_and_raw_bodies_agree(client: TestClient) -> None:
    png = digit_png()
    from_json = client.post("/encode", json={"images": [b64(png)]}).json()
    from_raw = client.post("/encode", content=png, headers={"Content-Type": "image/png"}).json()
    from_form = client.post("/encode", files={"file": ("one.png", png, "image/png")}).json()
    for other in (from_raw, from_form):
        assert other["mean"][0] == pytest.approx(from_json["mean"][0], abs=1e-6)
        assert other["logvar"][0] == pytest.approx(from_json["logvar"][0], abs=1e-6)
    assert set(from_json) == {"model", "mean", "logvar"}
    assert len(from_json["mean"]) == 1
    assert len(from_json["mean"][0]) == 4


def test_several_files_and_data_urls(client: TestClient) -> None:
    png, other = digit_png(), digit_png(size=(56, 56))
    form = client.post(
        "/encode",
        files=[("file", ("a.png", png, "image/png")), ("file", ("b.png", other, "image/png"))],
    ).json()
    assert len(form["mean"]) == 2
    data_url = client.post("/encode", json={"images": ["data:image/png;base64," + b64(png)]}).json()
    assert data_url["mean"][0] == pytest.approx(form["mean"][0], abs=1e-6)


def test_seed_adds_a_reproducible_sample(client: TestClient) -> None:
    png = digit_png()
    first = client.post("/encode?seed=4", content=png, headers={"Content-Type": "image/png"})
    assert first.headers["x-seed"] == "4"
    assert len(first.json()["z"][0]) == 4
    again = client.post("/encode?seed=4", content=png, headers={"Content-Type": "image/png"})
    assert again.json()["z"] == first.json()["z"]


def test_dark_on_light_inverts_by_default_and_on_request(client: TestClient) -> None:
    plain = client.post("/encode", json={"images": [b64(digit_png())]}).json()["mean"]
    paper = client.post("/encode", json={"images": [b64(digit_png(dark_on_light=True))]}).json()[
        "mean"
    ]
    assert paper[0] == pytest.approx(plain[0], abs=1e-5)
    kept = client.post(
        "/encode?invert=false", json={"images": [b64(digit_png(dark_on_light=True))]}
    ).json()
    assert kept["mean"][0] != pytest.approx(paper[0], abs=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"content": b"not an image", "headers": {"Content-Type": "image/png"}}, 400, "Pillow"),
        ({"content": b"", "headers": {"Content-Type": "image/png"}}, 400, "empty"),
        ({"json": {"images": ["@@@"]}}, 422, "body.images.0: String should match pattern"),
        ({"content": b"hello", "headers": {"Content-Type": "text/plain"}}, 415, "text/plain"),
        ({"content": b"hello"}, 415, "Content-Type"),
        ({"json": {"images": []}}, 422, "body.images: List should have at least 1 item"),
        ({"json": {"pictures": ["x"]}}, 422, "images"),
        (
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,  # as /decode and /interpolate answer it: one JSON reader
            "body is not valid JSON",
        ),
        ({"files": {"upload": ("a.png", b"x", "image/png")}}, 422, "'file'"),
    ],
)
def test_bad_input(
    client: TestClient, kwargs: dict[str, object], status: int, fragment: str
) -> None:
    response = client.post("/encode", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert fragment in response.json()["detail"]


def test_too_many_images_is_422(client: TestClient) -> None:
    response = client.post("/encode", json={"images": [b64(digit_png())] * 65})
    assert response.status_code == 422
    assert "VAE_MAX_IMAGES" in response.json()["detail"]


def test_a_request_s_images_are_bounded_in_total_before_any_is_decoded(
    client: TestClient,
) -> None:
    """Each picture is within VAE_MAX_IMAGE_PIXELS, but eight of them are not within
    VAE_MAX_REQUEST_PIXELS: a 413 from their headers alone (a few KB on the wire)."""
    big = digit_png(size=(2048, 2048))
    files = [("file", (f"{i}.png", big, "image/png")) for i in range(8)]
    response = client.post("/encode", files=files)
    assert response.status_code == 413
    assert "33,554,432 pixels" in response.json()["detail"]
    assert "VAE_MAX_REQUEST_PIXELS" in response.json()["detail"]


def test_uploads_being_decoded_are_bounded_across_requests(weights_dir: Path) -> None:
    """While VAE_MAX_DECODING_PIXELS are being decoded, another upload is a 429 at once."""
    with make_client(weights_dir, max_request_pixels=10_000, max_decoding_pixels=10_000) as busy:
        wait_ready(busy)
        stage = busy.app.state.registry.uploads  # type: ignore[attr-defined]
        stage.admit(9_500)  # another request's pixels, being decoded
        try:
            refused = busy.post(
                "/encode", content=digit_png(), headers={"Content-Type": "image/png"}
            )
        finally:
            stage.release(9_500)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert "uploads stage is full" in refused.json()["detail"]
        fine = busy.post("/encode", content=digit_png(), headers={"Content-Type": "image/png"})
        assert fine.status_code == 200
        assert stage.used == 0
