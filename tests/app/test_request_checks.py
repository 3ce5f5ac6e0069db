"""Small mistakes get consistent answers: unknown query parameters 422, JSON without its
Content-Type 415, each naming what to send."""

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/sample", {"sed": "4"}),
        ("GET", "/models", {"verbose": "1"}),
        ("POST", "/decode", {"fromat": "json"}),
    ],
)
def test_an_unknown_query_parameter_is_named(
    client: TestClient, method: str, path: str, params: dict[str, str]
) -> None:
    body = {"latents": [[0.0] * 4]} if path == "/decode" else None
    response = client.request(method, path, params=params, json=body)
    assert response.status_code == 422
    name = next(iter(params))
    assert f"unknown query parameter(s) {name}" in response.json()["detail"]


def test_known_parameters_still_pass(client: TestClient) -> None:
    params = {"n": 2, "seed": 1, "format": "json", "scale": 1, "cols": 2, "model": "tiny"}
    assert client.get("/sample", params=params).status_code == 200


@pytest.mark.parametrize("path", ["/sample", "/decode", "/interpolate"])
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_json_routes_want_their_content_type(
    client: TestClient, path: str, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(path, content=b'{"n": 1}', headers=headers)
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.json()["detail"]


def test_json_with_a_charset_is_json(client: TestClient) -> None:
    response = client.post(
        "/sample",
        content=b'{"n": 1, "seed": 2}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200
