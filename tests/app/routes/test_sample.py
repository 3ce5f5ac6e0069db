from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from contract.artifact import save_artifact
from tests.app.conftest import decode_png, make_client, wait_ready
from tests.utils.artifacts import class_latents_v1, tiny_metadata, tiny_priors, tiny_vae


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
    assert set(body) == {"model", "seed", "prior", "latents", "images"}
    assert body["model"] == "tiny"
    assert body["prior"] == "fitted"
    assert len(body["latents"]) == 3
    assert len(body["latents"][0]) == 4
    assert all(
        decode_png(__import__("base64").b64decode(image)).size == (28, 28)
        for image in body["images"]
    )
    get = client.get("/sample", params={"n": 3, "seed": 5, "temperature": 0.5, "format": "json"})
    assert get.json() == body


def test_temperature_scales_the_standard_latents(client: TestClient) -> None:
    params = {"seed": 1, "format": "json", "prior": "standard"}
    hot = client.get("/sample", params=params).json()["latents"][0]
    cold = client.get("/sample", params={**params, "temperature": 0.5}).json()["latents"][0]
    assert cold == pytest.approx([v * 0.5 for v in hot], rel=1e-6)


def _latents(client: TestClient, **params: object) -> torch.Tensor:
    response = client.get("/sample", params={"format": "json", **params})
    assert response.status_code == 200, response.text
    return torch.tensor(response.json()["latents"])


def test_default_prior_is_the_fitted_mixture(client: TestClient) -> None:
    fitted = tiny_priors().fitted
    assert fitted is not None
    response = client.get("/sample", params={"n": 3, "seed": 4, "format": "json"})
    assert response.json()["prior"] == "fitted"
    assert response.headers["x-prior"] == "fitted"
    expected = fitted.sample(3, torch.Generator().manual_seed(4))
    torch.testing.assert_close(torch.tensor(response.json()["latents"]), expected)
    # At a low temperature every latent sits on one of the mixture's component means.
    cold = _latents(client, n=64, seed=5, temperature=0.001)
    assert float(torch.cdist(cold, fitted.means).min(1).values.max()) < 0.01


def test_standard_prior_on_request(client: TestClient) -> None:
    z = _latents(client, n=3, seed=4, prior="standard")
    torch.testing.assert_close(z, torch.randn((3, 4), generator=torch.Generator().manual_seed(4)))
    post = client.post(
        "/sample",
        json={"n": 3, "seed": 4, "prior": "standard"},
        headers={"Accept": "application/json"},
    )
    assert post.json()["prior"] == "standard"
    torch.testing.assert_close(torch.tensor(post.json()["latents"]), z)


def test_digit_samples_follow_the_class_mixture(client: TestClient) -> None:
    classes = tiny_priors().classes
    for digit in (0, 7):
        z = _latents(client, digit=digit, n=32, seed=2, temperature=0.001)
        own = torch.cdist(z, classes[str(digit)].means).min(1).values
        assert float(own.max()) < 0.01, f"digit {digit} latents are off its components"
        other = classes[str((digit + 1) % 10)].means
        assert float(torch.cdist(z, other).min()) > 1.0
    body = client.get("/sample", params={"digit": 7, "format": "json"}).json()
    assert body["prior"] == "class"


def test_a_format_1_model_samples_the_standard_prior_and_its_class_latents(
    client: TestClient,
) -> None:
    body = client.get("/sample", params={"model": "tiny-gauss", "format": "json"}).json()
    assert body["prior"] == "standard"
    response = client.get("/sample", params={"model": "tiny-gauss", "prior": "fitted"})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "model 'tiny-gauss' has no 'fitted' prior; choose one of: standard"
    )
    mean = torch.tensor(class_latents_v1()["3"]["mean"])
    z = _latents(client, model="tiny-gauss", digit=3, n=16, temperature=0.001)
    torch.testing.assert_close(z, mean.expand(16, -1), atol=0.01, rtol=0)


def test_unknown_prior_names_the_choices(client: TestClient) -> None:
    response = client.get("/sample", params={"prior": "uniform"})
    assert response.status_code == 422
    assert "'fitted' or 'standard'" in response.json()["detail"]
    mixed = client.get("/sample", params={"prior": "standard", "digit": 3})
    assert mixed.status_code == 422
    assert "per-class" in mixed.json()["detail"]


def test_same_seed_same_bytes_for_each_prior(client: TestClient) -> None:
    for params in ({"prior": "fitted"}, {"prior": "standard"}, {"digit": 4}):
        first = client.get("/sample", params={"n": 4, "seed": 8, **params}).content
        assert first == client.get("/sample", params={"n": 4, "seed": 8, **params}).content


def test_digit_without_class_priors_is_422(tmp_path: Path) -> None:
    save_artifact(tiny_vae(), tiny_metadata("plain"), tmp_path / "plain.pt")
    with make_client(tmp_path) as plain:
        wait_ready(plain)
        response = plain.get("/sample", params={"digit": 3})
    assert response.status_code == 422
    assert "has no class '3'" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"n": 65}, "less than or equal to 64"),
        ({"n": 0}, "n"),
        ({"temperature": 0}, "temperature"),
        ({"temperature": "nan"}, "temperature"),
        ({"digit": 10}, "digit"),
        ({"seed": -1}, "seed"),
        ({"scale": 17}, "less than or equal to 16"),
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
