import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import decode_png


def test_png_grid_of_samples(client: TestClient) -> None:
    response = client.get("/sample", params={"n": 6, "seed": 3, "cols": 3, "scale": 2})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-seed"] == "3"
    image = decode_png(response.content)
    assert image.mode == "L"
    assert image.size == (3 * 28 * 2, 2 * 28 * 2)


def test_same_seed_gives_the_same_bytes(client: TestClient) -> None:
    first = client.get("/sample", params={"n": 4, "seed": 11}).content
    assert first == client.get("/sample", params={"n": 4, "seed": 11}).content
    assert first != client.get("/sample", params={"n": 4, "seed": 12}).content


def test_seed_is_chosen_and_echoed_when_omitted(client: TestClient) -> None:
    response = client.get("/sample", params={"format": "json"})
    body = response.json()
    assert str(body["seed"]) == response.headers["x-seed"]
    again = client.get("/sample", params={"format": "json", "seed": body["seed"]}).json()
    assert again["latents"] == body["latents"]


def test_json_by_accept_header_and_post_body(client: TestClient) -> None:
    response = client.post(
        "/sample",
        json={"n": 3, "seed": 5, "temperature": 0.5},
        headers={"Accept": "application/json"},
    )
    body = response.json()
    assert set(body) == {"model", "seed", "latents", "images"}
    assert body["model"] == "tiny"
    assert len(body["latents"]) == 3
    assert len(body["latents"][0]) == 4
    assert all(
        decode_png(__import__("base64").b64decode(image)).size == (28, 28)
        for image in body["images"]
    )
    get = client.get("/sample", params={"n": 3, "seed": 5, "temperature": 0.5, "format": "json"})
    assert get.json() == body


def test_temperature_scales_the_latents(client: TestClient) -> None:
    hot = client.get("/sample", params={"seed": 1, "format": "json"}).json()["latents"][0]
    cold = client.get("/sample", params={"seed": 1, "temperature": 0.5, "format": "json"}).json()[
        "latents"
    ][0]
    assert cold == pytest.approx([v * 0.5 for v in hot], rel=1e-6)


def test_digit_uses_class_latents(client: TestClient) -> None:
    body = client.get("/sample", params={"digit": 7, "n": 2, "seed": 0, "format": "json"}).json()
    assert len(body["latents"]) == 2


def test_digit_without_class_latents_is_422(tmp_path, weights_dir) -> None:  # type: ignore[no-untyped-def]
    from model.export import save_artifact
    from tests.app.conftest import make_client, wait_ready
    from tests.conftest import tiny_metadata, tiny_vae

    metadata = tiny_metadata("plain")
    del metadata["class_latents"]
    save_artifact(tiny_vae(), metadata, tmp_path / "plain.pt")
    with make_client(tmp_path) as plain:
        wait_ready(plain)
        response = plain.get("/sample", params={"digit": 3})
    assert response.status_code == 422
    assert "class_latents" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"n": 65}, "VAE_MAX_N"),
        ({"n": 0}, "n"),
        ({"temperature": 0}, "temperature"),
        ({"temperature": "nan"}, "temperature"),
        ({"digit": 10}, "digit"),
        ({"seed": -1}, "seed"),
        ({"scale": 17}, "VAE_MAX_SCALE"),
        ({"format": "gif"}, "format"),
    ],
)
def test_bad_parameters_are_422(
    client: TestClient, params: dict[str, object], fragment: str
) -> None:
    response = client.get("/sample", params=params)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


def test_unknown_model_is_404(client: TestClient) -> None:
    response = client.get("/sample", params={"model": "nope"})
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_other_model_by_name(client: TestClient) -> None:
    assert (
        client.get("/sample", params={"model": "tiny-gauss", "format": "json"}).json()["model"]
        == "tiny-gauss"
    )
