"""Start real uvicorn processes on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.utils.browser import CHROMEDRIVER, CHROMIUM

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A server process whose output goes to a file: a pipe nobody reads fills up after 64 KB
    of access log, and the server then blocks on its next log line."""

    def __init__(self, process: subprocess.Popen[str], url: str, log: IO[str]) -> None:
        self.process, self.url, self.log = process, url, log
        self.output: str | None = None

    def stop(self, seconds: float = 15.0) -> tuple[int, str]:
        """SIGTERM, wait, and return (exit code, everything it printed); again: the same."""
        if self.output is not None:
            return self.process.returncode, self.output
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.seek(0)
        self.output = self.log.read()
        self.log.close()
        return self.process.returncode, self.output


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
    log = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=environment,
        text=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return Server(process, f"http://127.0.0.1:{port}", log)


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


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless Chromium for every page test."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "/usr/bin/chromium"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1400",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(
        service=Service(CHROMEDRIVER or "/usr/bin/chromedriver"), options=options
    )
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
