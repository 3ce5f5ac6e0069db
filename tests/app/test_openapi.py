"""/openapi.json: limits declared once, the models' latent length, one error shape, ids."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import make_client, wait_ready
from tests.utils.artifacts import tiny_metadata, tiny_vae, write_raw


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
    # No loaded model takes grids: the schema offers only vectors of the models' D.
    vector = components["DecodeOneRequest"]["properties"]["latents"]
    assert "anyOf" not in vector
    assert (vector["minItems"], vector["maxItems"]) == (4, 4)
    item = components["DecodeRequest"]["properties"]["latents"]["items"]
    assert (item["minItems"], item["maxItems"], "anyOf" in item) == (4, 4, False)
    assert components["DecodeRequest"]["examples"] == [{"latents": [[0.0] * 4]}]


def test_latent_grids_have_the_grid_models_sides(weights_dir: Path, tmp_path: Path) -> None:
    for artifact in weights_dir.glob("*.pt"):
        shutil.copy(artifact, tmp_path / artifact.name)
    grid_model = tiny_metadata("tiny-grid", latent_dim=8, latent_shape=[2, 2, 2])
    write_raw(tiny_vae(latent_dim=8), grid_model, tmp_path / "grid.pt")
    with make_client(tmp_path) as client:
        wait_ready(client)
        components = client.get("/openapi.json").json()["components"]["schemas"]
        vector, grid = components["DecodeOneRequest"]["properties"]["latents"]["anyOf"]
        assert (vector["minItems"], vector["maxItems"]) == (4, 8)
        sides = []
        while grid.get("type") == "array" and "minItems" in grid:
            sides.append((grid["minItems"], grid["maxItems"]))
            grid = grid["items"]
        assert sides == [(2, 2), (2, 2), (2, 2)]  # [c][h][w] of the one grid model
        ragged = {"latents": [[[0.0, 0.0], [0.0]], [[0.0, 0.0], [0.0, 0.0]]]}
        refused = client.post("/decode.json?model=tiny-grid", json=ragged)
        assert refused.status_code == 422
        assert "ragged" in refused.json()["detail"]
        flat = client.post("/decode.json?model=tiny-grid", json={"latents": [[0.0] * 8]})
        assert flat.status_code == 200


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
