import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import b64, digit_png


def test_score_fields_and_bounds(client: TestClient) -> None:
    response = client.post("/score?k=50&seed=2", json={"images": [b64(digit_png())] * 2})
    body = response.json()
    assert response.headers["x-seed"] == "2"
    assert body["model"] == "tiny"
    assert body["k"] == 50
    assert body["bits_per_dim"] is None  # a binarized model has no bits/dim
    assert all(nll <= elbo + 1e-3 for nll, elbo in zip(body["nll"], body["neg_elbo"], strict=True))


def test_k_one_equals_the_elbo_and_seeds_repeat(client: TestClient) -> None:
    body = client.post("/score?k=1&seed=3", json={"images": [b64(digit_png())]}).json()
    assert body["nll"] == pytest.approx(body["neg_elbo"], abs=1e-3)
    assert client.post("/score?k=1&seed=3", json={"images": [b64(digit_png())]}).json() == body


def test_dequantized_model_reports_bits_per_dim(client: TestClient) -> None:
    body = client.post("/score?k=10&model=tiny-gauss", json={"images": [b64(digit_png())]}).json()
    assert len(body["bits_per_dim"]) == 1
    assert body["bits_per_dim"][0] > 0


def test_k_above_the_limit_is_422(client: TestClient) -> None:
    response = client.post("/score?k=1001", json={"images": [b64(digit_png())]})
    assert response.status_code == 422
    assert "less than or equal to 1000" in response.json()["detail"]
