"""Starting and watching the servers under test: one process each, on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "weights" / "mnist-bernoulli.pt"
COLOUR_WEIGHTS = REPO / "weights" / "emoji-gaussian.pt"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """How to start one server on a port, and what it answers."""

    name: str
    command: list[str]  # "{port}" is replaced
    env: dict[str, str] = field(default_factory=dict)
    peer: bool = True  # counts for "the best peer"
    rows: tuple[str, ...] = ()  # which ROWS it serves
    cwd: Path = REPO


@contextmanager
def started(server: Server) -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in server.command]
    env = {**os.environ, **server.env, "VAE_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    # Output to a file: a pipe nobody reads fills up and blocks a server that logs.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command,
            cwd=server.cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                os.killpg(process.pid, signal.SIGKILL)
                log.seek(0)
                raise RuntimeError(f"{server.name} did not start: {log.read()[-2000:]!r}")
            time.sleep(0.2)
        try:
            yield url, process.pid
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            _wait_group_gone(process.pid)


def _wait_group_gone(group: int, seconds: float = 30.0) -> None:
    """Until every process of the group has exited (LitServe's workers outlive their parent
    for seconds, and a lingering one took CPU from the next server measured)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers, LitServe's)."""
    total = 0.0
    for task in [pid, *children(pid)]:
        for line in Path(f"/proc/{task}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found += [int(entry.name), *children(int(entry.name))]
    return found
