import base64

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import decode_png


def test_one_vector_gives_one_png(client: TestClient) -> None:
    response = client.post("/decode", json={"latents": [0.0, 0.1, 0.2, 0.3]})
    assert response.status_code == 200
    assert decode_png(response.content).size == (28, 28)


def test_several_vectors_give_a_grid_or_json(client: TestClient) -> None:
    latents = [[0.0] * 4, [1.0] * 4, [-1.0] * 4]
    grid = decode_png(client.post("/decode", json={"latents": latents}).content)
    assert grid.size == (2 * 28, 2 * 28)
    body = client.post("/decode?format=json", json={"latents": latents}).json()
    assert body["model"] == "tiny"
    assert len(body["images"]) == 3
    assert decode_png(base64.b64decode(body["images"][1])).size == (28, 28)


def test_decode_matches_sample(client: TestClient) -> None:
    sampled = client.get("/sample", params={"seed": 9, "n": 2, "format": "json"}).json()
    decoded = client.post("/decode?format=json", json={"latents": sampled["latents"]}).json()
    assert decoded["images"] == sampled["images"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"latents": [0.0, 0.0, 0.0]}, "length 3"),
        ({"latents": [[0.0] * 4, [0.0] * 5]}, "latent 1 has length 5"),
        ({"latents": []}, "at least 1 item"),
        ({"latents": [["a", 0, 0, 0]]}, "latents"),
        ({"latents": [[0.0] * 4] * 257}, "at most 256 items"),
        ({"vectors": [[0.0] * 4]}, "latents"),
        ({"latents": [[True, 0, 0, 0]]}, "Input should be a valid number"),  # not lax: no bools
        ({"latents": [["1.5", 0, 0, 0]]}, "Input should be a valid number"),
    ],
)
def test_bad_latents_are_422(client: TestClient, body: dict[str, object], fragment: str) -> None:
    response = client.post("/decode", json=body)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_422(client: TestClient, literal: str) -> None:
    response = client.post(
        "/decode",
        content=f'{{"latents": [{literal}, 0, 0, 0]}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "finite" in response.json()["detail"]
