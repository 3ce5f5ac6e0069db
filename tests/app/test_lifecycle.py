"""Startup and shutdown that orchestrators can trust, and the checks around them."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import ValidationError

from app import bodies
from app.artifacts import load_served_model
from app.metrics import Metrics
from app.registry import ModelRegistry, Readiness
from app.settings import Settings
from contract.artifact import load_artifact
from tests.app.conftest import make_client, wait_ready


class BrokenDecoder(torch.nn.Module):
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("the GPU fell over")


def test_a_failed_warm_up_is_logged_and_fails_liveness(
    weights_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = ModelRegistry(Settings(weights=weights_dir), Metrics())
    registry.load()
    try:
        name, model = next(iter(registry.models.items()))
        registry.models[name] = dataclasses.replace(model, module=BrokenDecoder())
        with pytest.raises(RuntimeError, match="fell over"):
            registry.warm_up()
        assert registry.readiness is Readiness.FAILED
    finally:
        registry.stop()
    assert "warm-up failed" in caplog.text
    with make_client(weights_dir) as client:
        wait_ready(client)
        assert client.get("/livez").status_code == 200
        client.app.state.registry.readiness = Readiness.FAILED  # type: ignore[attr-defined]
        assert client.get("/livez").status_code == 503
        assert client.get("/readyz").status_code == 503


def test_shutdown_runs_off_the_event_loop(
    weights_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped_in: list[str] = []
    original = ModelRegistry.stop

    def stop(self: ModelRegistry) -> None:
        stopped_in.append(threading.current_thread().name)
        original(self)

    monkeypatch.setattr(ModelRegistry, "stop", stop)
    with make_client(weights_dir) as client:
        wait_ready(client)
        loop_thread = client.portal.call(lambda: threading.current_thread().name)  # type: ignore[union-attr]
    assert stopped_in
    assert stopped_in[0] != loop_thread


def test_the_digest_is_of_the_bytes_that_are_loaded(weights_dir: Path, tmp_path: Path) -> None:
    model = load_served_model(weights_dir / "tiny.pt", torch.device("cpu"))
    assert model.sha256 == hashlib.sha256((weights_dir / "tiny.pt").read_bytes()).hexdigest()
    # Given bytes, the loader loads them, not what the file holds now.
    swapped = tmp_path / "tiny.pt"
    swapped.write_bytes((weights_dir / "tiny-gauss.pt").read_bytes())
    loaded = load_artifact(swapped, data=(weights_dir / "tiny.pt").read_bytes())
    assert loaded.metadata.name == "tiny"


def test_the_log_level_is_validated() -> None:
    assert Settings(log_level="DEBUG").log_level == "debug"
    with pytest.raises(ValidationError, match="log_level"):
        Settings(log_level="loud")


def test_large_json_bodies_are_parsed_off_the_event_loop(
    weights_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed_in: list[str] = []
    original = bodies._validate

    def recording(adapter: Any, raw: bytes) -> Any:
        parsed_in.append(threading.current_thread().name)
        return original(adapter, raw)

    monkeypatch.setattr(bodies, "_validate", recording)
    small = json.dumps({"latents": [[0.0] * 4]}).encode()
    large = small[:-1] + b" " * (bodies.ON_LOOP_BYTES + 1) + b"}"
    headers = {"Content-Type": "application/json"}
    with make_client(weights_dir) as client:
        wait_ready(client)
        loop_thread = client.portal.call(lambda: threading.current_thread().name)  # type: ignore[union-attr]
        assert client.post("/decode", content=small, headers=headers).status_code == 200
        assert client.post("/decode", content=large, headers=headers).status_code == 200
    assert parsed_in[0] == loop_thread
    assert parsed_in[1] != loop_thread
