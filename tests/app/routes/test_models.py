import hashlib
from pathlib import Path

from fastapi.testclient import TestClient


def test_list_models(client: TestClient, weights_dir: Path) -> None:
    body = client.get("/models").json()
    assert body["default"] == "tiny"
    names = [model["name"] for model in body["models"]]
    assert names == ["tiny", "tiny-gauss"]
    tiny = body["models"][0]
    assert tiny["device"] == "cpu"
    assert tiny["latent_dim"] == 4
    assert tiny["format_version"] == 3
    assert tiny["sample_priors"] == ["fitted", "standard"]
    assert tiny["digits"] == [str(d) for d in range(10)]
    gauss = body["models"][1]
    assert gauss["format_version"] == 1
    assert gauss["sample_priors"] == ["standard"]
    data = (weights_dir / "tiny.pt").read_bytes()
    assert tiny["sha256"] == hashlib.sha256(data).hexdigest()
    assert tiny["size_bytes"] == len(data)


def test_the_listing_is_compact_and_the_detail_complete(client: TestClient) -> None:
    listing = client.get("/models").json()["models"][0]
    assert list(listing)[:3] == ["name", "description", "format_version"]
    assert not {"metrics", "training", "class_latents", "priors"} & set(listing)
    detail = client.get("/models/tiny").json()
    assert {"metrics", "training", "priors", "sha256", "sample_priors"} <= set(detail)
    assert {key: detail[key] for key in listing} == listing  # the listing is a part of it


def test_one_model_and_an_unknown_one(client: TestClient) -> None:
    assert client.get("/models/tiny-gauss").json()["likelihood"] == "gaussian"
    response = client.get("/models/nope")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_openapi_documents_every_route_and_png(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/encode",
        "/decode",
        "/sample",
        "/interpolate",
        "/reconstruct",
        "/score",
        "/models",
        "/livez",
        "/readyz",
        "/metrics",
    ):
        assert path in paths, path
        for operation in paths[path].values():
            assert operation.get("summary"), path
    assert "image/png" in paths["/sample"]["get"]["responses"]["200"]["content"]
    assert "multipart/form-data" in paths["/encode"]["post"]["requestBody"]["content"]
