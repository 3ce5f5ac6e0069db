"""A real uvicorn process over the tiny artifacts, called with httpx like any client."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import torch
from PIL import Image

from contract.artifact import save_artifact
from tests.app.conftest import digit_png
from tests.e2e.conftest import Server, free_port, running, start
from tests.utils.artifacts import (
    prior_metadata,
    tiny_metadata,
    tiny_priors,
    tiny_vae,
    write_raw,
)


def png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_every_endpoint_over_real_http(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/livez").json() == {"status": "alive"}
        assert client.get("/readyz").json() == {"status": "ready"}
        assert client.get("/models").json()["default"] == "tiny"
        assert client.get("/models/tiny").json()["device"] == "cpu"
        sample = client.get("/sample", params={"n": 4, "seed": 1, "scale": 2})
        assert sample.headers["x-seed"] == "1"
        assert png(sample.content).size == (112, 112)
        posted = client.post("/sample", json={"n": 2, "seed": 1}, params={"format": "json"}).json()
        latents = posted["latents"]
        assert png(client.post("/decode", json={"latents": latents}).content).size == (56, 28)
        drawing = digit_png(size=(64, 64), dark_on_light=True)
        encoded = client.post("/encode", files={"file": ("d.png", drawing, "image/png")}).json()
        assert len(encoded["mean"][0]) == 4
        recon = client.post("/reconstruct", content=drawing, headers={"Content-Type": "image/png"})
        assert png(recon.content).size == (28, 28)
        scored = client.post(
            "/score",
            params={"k": 8, "seed": 0},
            json={"images": [base64.b64encode(drawing).decode()]},
        ).json()
        assert scored["k"] == 8
        assert len(scored["nll"]) == 1
        strip = client.post("/interpolate", json={"latents": latents, "steps": 6})
        assert png(strip.content).size == (6 * 28, 28)
        assert client.get("/metrics").text.count("vae_requests_total") > 0
        assert client.get("/docs").status_code == 200
        assert client.get("/sample", params={"n": 10_000}).status_code == 422
        assert client.get("/sample", params={"model": "nope"}).status_code == 404


def test_sigterm_stops_gracefully(weights_dir: Path) -> None:
    with running(weights_dir) as live:
        code, output = live.stop()
    # Plain uvicorn shuts down cleanly, then re-raises SIGTERM (vae-serve turns that into 0).
    assert code in (0, -15), output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output


def test_console_command_serves(weights_dir: Path) -> None:
    with running(weights_dir, cli=True) as live:
        assert httpx.get(f"{live.url}/sample", timeout=5).status_code == 200
        code, output = live.stop()
    assert code == 0
    assert '"path": "/sample", "status": 200' in output  # one structured log line per request


def test_two_worker_processes_serve_and_stop_cleanly(weights_dir: Path) -> None:
    with running(weights_dir, cli=True, VAE_WORKERS="2") as live:
        # Each process warms up on its own, and /readyz answers for the one that took the
        # connection: wait until ten in a row say ready, so both have warmed up.
        deadline, in_a_row = time.monotonic() + 30, 0
        while in_a_row < 10 and time.monotonic() < deadline:
            ready = httpx.get(f"{live.url}/readyz", timeout=5).status_code == 200
            in_a_row = in_a_row + 1 if ready else 0
            time.sleep(0 if ready else 0.1)
        for _ in range(4):
            assert httpx.get(f"{live.url}/sample", timeout=10).status_code == 200
        code, output = live.stop()
    assert code == 0, output
    assert output.count("Application shutdown complete") == 2
    assert "Stopping parent process" in output
    assert "Traceback" not in output


def test_flags_override_the_environment(weights_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from app.cli import main; main()",
        "--port",
        str(port),
        "--weights",
        str(weights_dir / "tiny.pt"),
    ]
    env = {**os.environ, "VAE_PORT": "1", "VAE_WEIGHTS": str(tmp_path / "missing")}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                models = httpx.get(f"http://127.0.0.1:{port}/models", timeout=1)
                if models.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "vae-serve exited"
            assert time.monotonic() < deadline, "vae-serve did not start in time"
            time.sleep(0.2)
        assert [m["name"] for m in models.json()["models"]] == ["tiny"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_broken_artifact_stops_startup_with_a_message(tmp_path: Path) -> None:
    save_artifact(tiny_vae(), tiny_metadata("fine"), tmp_path / "fine.pt")
    torch.jit.save(
        torch.jit.script(tiny_vae()),
        str(tmp_path / "future.pt"),
        _extra_files={"metadata.json": '{"format_version": 9}'},
    )
    server = start(tmp_path)
    server.process.wait(timeout=60)
    code, output = server.stop()
    assert code != 0
    assert "cannot start vae-serve" in output
    assert "future.pt" in output
    assert "format_version" in output or "lacks" in output
    assert "Traceback" not in output


def test_no_artifacts_at_all(tmp_path: Path) -> None:
    server = start(tmp_path)
    server.process.wait(timeout=60)
    code, output = server.stop()
    assert code != 0
    assert "holds no artifacts" in output
    assert "VAE_WEIGHTS" in output
    assert "Traceback" not in output


def test_a_malformed_prior_stops_startup_in_one_line(tmp_path: Path) -> None:
    priors = tiny_priors()
    assert priors.fitted is not None
    tensors = priors.to_tensors()
    tensors["fitted"]["weights"] = tensors["fitted"]["weights"] * 3  # sums to 3, not 1
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    metadata = {**tiny_metadata("bad-prior"), "format_version": 2, "priors": prior_metadata(priors)}
    write_raw(
        tiny_vae(), json.dumps(metadata), tmp_path / "bad.pt", **{"priors.pt": buffer.getvalue()}
    )
    server = start(tmp_path)
    server.process.wait(timeout=60)
    code, output = server.stop()
    assert code != 0
    lines = [line for line in output.splitlines() if "cannot start vae-serve" in line]
    assert len(lines) >= 1
    assert (
        "bad.pt: malformed prior: fitted prior: weights must be non-negative and sum to 1"
        in (lines[0])
    )
    assert "Traceback" not in output
