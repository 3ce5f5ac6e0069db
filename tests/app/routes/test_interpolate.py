import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import b64, decode_png, digit_png

A, B = [1.0, 0.0, 0.5, -0.5], [0.0, 1.0, -0.5, 0.5]


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_strip_ends_match_the_inputs(client: TestClient, method: str) -> None:
    body = client.post(
        "/interpolate?format=json", json={"latents": [A, B], "steps": 5, "method": method}
    ).json()
    assert len(body["latents"]) == 5
    assert len(body["images"]) == 5
    assert body["latents"][0] == pytest.approx(A)
    assert body["latents"][-1] == pytest.approx(B)
    endpoints = client.post("/decode?format=json", json={"latents": [A, B]}).json()["images"]
    assert [body["images"][0], body["images"][-1]] == endpoints


def test_png_strip_is_one_row(client: TestClient) -> None:
    strip = decode_png(client.post("/interpolate", json={"latents": [A, B], "steps": 7}).content)
    assert strip.size == (7 * 28, 28)


def test_images_are_encoded_first(client: TestClient) -> None:
    body = client.post(
        "/interpolate?format=json",
        json={"images": [b64(digit_png()), b64(digit_png(size=(40, 40)))], "steps": 3},
    ).json()
    mean = client.post("/encode", json={"images": [b64(digit_png())]}).json()["mean"][0]
    assert body["latents"][0] == pytest.approx(mean, abs=1e-5)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"latents": [A]}, "at least 2 items"),
        ({"latents": [A, B, A]}, "at most 2 items"),
        ({"latents": [A, B], "images": ["x", "y"]}, "body.images.latents: Extra inputs"),
        ({}, "body.latents.latents: Field required"),
        ({"latents": [A, B], "steps": 1}, "steps"),
        ({"latents": [A, B], "steps": 65}, "less than or equal to 64"),
        ({"latents": [A, B], "method": "cubic"}, "method"),
        ({"latents": [A, [0.0]]}, "length 1"),
    ],
)
def test_bad_requests_are_422(client: TestClient, body: dict[str, object], fragment: str) -> None:
    response = client.post("/interpolate", json=body)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]
