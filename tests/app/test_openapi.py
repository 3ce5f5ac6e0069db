"""/openapi.json: limits declared once, the models' latent length, one error shape, ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import make_client, wait_ready


@pytest.fixture(scope="module")
def limited(weights_dir: Path) -> Iterator[TestClient]:
    with make_client(weights_dir, max_n=7, max_scale=3, max_score_k=50, max_steps=5) as client:
        wait_ready(client)
        yield client


def parameter(schema: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    found = [p for p in schema["paths"][path][method]["parameters"] if p["name"] == name]
    assert len(found) == 1, (path, method, name)
    return dict(found[0]["schema"])


def test_each_limit_validates_and_documents_from_one_declaration(limited: TestClient) -> None:
    schema = limited.get("/openapi.json").json()
    assert parameter(schema, "/sample", "get", "n")["maximum"] == 7
    assert parameter(schema, "/sample.json", "get", "scale")["maximum"] == 3
    assert parameter(schema, "/score", "post", "k") == {
        **parameter(schema, "/score", "post", "k"),
        "maximum": 50,
        "default": 50,
    }  # fmt: skip - the default follows a limit below 100
    components = schema["components"]["schemas"]
    assert components["SampleRequest"]["properties"]["n"]["maximum"] == 7
    assert components["InterpolateFromLatents"]["properties"]["steps"]["maximum"] == 5
    assert limited.get("/sample?n=8").status_code == 422
    assert limited.get("/sample?n=7").status_code == 200
    assert limited.post("/sample.json", json={"n": 8}).status_code == 422


def test_latent_vectors_have_the_models_length(client: TestClient) -> None:
    components = client.get("/openapi.json").json()["components"]["schemas"]
    vector, grid = components["DecodeOneRequest"]["properties"]["latents"]["anyOf"]
    assert (vector["minItems"], vector["maxItems"]) == (4, 4)
    assert grid["type"] == "array"  # a [c][h][w] grid, for models with a latent_shape
    assert components["DecodeRequest"]["examples"] == [{"latents": [[0.0] * 4]}]


def test_operation_ids_are_readable_and_errors_have_one_shape(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids)) == 25
    assert {"samplePng", "sampleJson", "decodeJson", "encode", "getModel"} <= set(ids)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path in schema["paths"].values():
        for operation in path.values():
            for status, response in operation["responses"].items():
                assert "X-Request-ID" in response["headers"]
                if status.startswith("4"):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorResponse")
    assert schema["paths"]["/models"]["get"]["responses"].keys() == {"200", "304", "401", "422"}


def test_a_405_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.request("OPTIONS", "/sample")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"


def test_png_routes_answer_octet_stream_when_asked(client: TestClient) -> None:
    asked = client.get("/sample?seed=1", headers={"Accept": "application/octet-stream"})
    assert asked.headers["content-type"] == "application/octet-stream"
    plain = client.get("/sample?seed=1")
    assert plain.headers["content-type"] == "image/png"
    assert asked.content == plain.content
