"""Start real uvicorn processes on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process, self.url = process, url

    def stop(self, seconds: float = 15.0) -> tuple[int, str]:
        """SIGTERM, wait, and return (exit code, everything it printed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            output, _ = self.process.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        return self.process.returncode, output


def start(weights: Path, cli: bool = False, **env: str) -> Server:
    """`uvicorn app.main:app`, or with `cli` the `vae-serve` console command's entry point."""
    port = free_port()
    if cli:
        command = [sys.executable, "-c", "from app.cli import main; main()"]
    else:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
    environment = {
        **os.environ,
        "VAE_WEIGHTS": str(weights),
        "VAE_PORT": str(port),
        "VAE_HOST": "127.0.0.1",
        **env,
    }
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=environment,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return Server(process, f"http://127.0.0.1:{port}")


def wait_ready(server: Server, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            _, output = server.stop()
            raise AssertionError(f"server exited early:\n{output}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError("server did not become ready in time")


@contextmanager
def running(weights: Path, cli: bool = False, **env: str) -> Iterator[Server]:
    server = start(weights, cli, **env)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(weights_dir: Path) -> Iterator[Server]:
    with running(weights_dir) as live:
        yield live
