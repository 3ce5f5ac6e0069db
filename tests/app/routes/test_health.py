from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.registry import Readiness
from tests.app.conftest import make_client, wait_ready


def test_probes(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "alive"}
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json() == {"status": "ready"}


def test_not_ready_is_503_everywhere_but_liveness(weights_dir: Path) -> None:
    with make_client(weights_dir) as client:
        wait_ready(client)
        client.app.state.registry.readiness = Readiness.STOPPING  # type: ignore[attr-defined]
        assert client.get("/readyz").status_code == 503
        assert client.get("/livez").status_code == 200
        response = client.get("/sample")
        assert response.status_code == 503
        assert "stopping" in response.json()["detail"]


def test_metrics_parse_and_count_requests(client: TestClient) -> None:
    client.get("/sample", params={"seed": 1})
    text = client.get("/metrics").text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert {"vae_requests", "vae_request_seconds", "vae_queue_depth", "vae_model_info"} <= set(
        families
    )
    samples = [
        s
        for s in families["vae_requests"].samples
        if s.labels.get("route") == "/sample" and s.labels.get("status") == "200"
    ]
    assert samples
    assert samples[0].value >= 1


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    echoed = client.get("/livez", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    made = client.get("/livez")
    assert len(made.headers["x-request-id"]) == 32
    assert float(made.headers["x-process-time"]) >= 0
