from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import b64, digit_png, make_client, wait_ready


@pytest.fixture(scope="module")
def locked(weights_dir: Path):  # type: ignore[no-untyped-def]
    with make_client(
        weights_dir, api_key="s3cret", cors_origins="https://app.example", max_body_bytes=2048
    ) as client:
        wait_ready(client)
        yield client


def test_api_key_is_required_except_on_probes(locked: TestClient) -> None:
    for path in ("/livez", "/readyz", "/metrics"):
        assert locked.get(path).status_code == 200
    missing = locked.get("/models")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert locked.get("/models", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert locked.get("/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert locked.get("/sample", headers={"X-API-Key": "s3cret"}).status_code == 200


def test_every_model_route_needs_the_key(locked: TestClient) -> None:
    """Each route in the schema but the probes: 401 without the key, whatever the route class."""
    schema = locked.get("/openapi.json", headers={"X-API-Key": "s3cret"}).json()
    probes = {"/livez", "/readyz", "/metrics"}
    checked = []
    for path, operations in schema["paths"].items():
        if path in probes:
            continue
        for method in operations:
            url = path.replace("{name}", "tiny")
            answer = locked.request(method.upper(), url, json={})
            assert answer.status_code == 401, (method, path, answer.status_code)
            checked.append(path)
    assert {"/sample", "/decode", "/encode", "/score", "/models"} <= set(checked)


def test_cors_allows_only_the_listed_origins(locked: TestClient) -> None:
    allowed = locked.get("/livez", headers={"Origin": "https://app.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    other = locked.get("/livez", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    # A page on the allowed origin can read the seed and the ETag it revalidates with.
    seeded = locked.get(
        "/sample?seed=1", headers={"Origin": "https://app.example", "X-API-Key": "s3cret"}
    )
    exposed = seeded.headers["access-control-expose-headers"]
    assert {"X-Seed", "ETag"} <= {name.strip() for name in exposed.split(",")}


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.get("/livez", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


def test_body_over_the_limit_is_413(locked: TestClient) -> None:
    headers = {"X-API-Key": "s3cret"}
    declared = locked.post(
        "/encode", content=b"x" * 4096, headers={**headers, "Content-Type": "image/png"}
    )
    assert declared.status_code == 413
    assert "VAE_MAX_BODY_BYTES" in declared.json()["detail"]

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(8):
            yield b"x" * 1024

    streamed = locked.post(
        "/encode", content=chunks(), headers={**headers, "Content-Type": "image/png"}
    )
    assert streamed.status_code == 413


def test_small_body_still_works_under_the_limit(locked: TestClient) -> None:
    response = locked.post(
        "/encode", json={"images": [b64(digit_png())]}, headers={"X-API-Key": "s3cret"}
    )
    assert response.status_code == 200


def test_every_credential_offered_must_be_right(locked: TestClient) -> None:
    right = {"X-API-Key": "s3cret"}
    assert locked.get("/models", headers=right).status_code == 200
    for wrong_authorization in ("Bearer nope", "Basic abc", "garbage"):
        headers = {**right, "Authorization": wrong_authorization}
        assert locked.get("/models", headers=headers).status_code == 401, wrong_authorization
    schemes = locked.get("/openapi.json", headers=right).json()["components"]["securitySchemes"]
    assert schemes["bearer"]["type"] == "http"
    assert schemes["bearer"]["scheme"] == "bearer"
    assert (schemes["apiKey"]["in"], schemes["apiKey"]["name"]) == ("header", "X-API-Key")
    security = locked.get("/openapi.json", headers=right).json()["paths"]["/sample"]["get"]
    assert security["security"] == [{"bearer": []}, {"apiKey": []}]
