"""Drive a server with wrk (Debian's package) and read its figures back as JSON.

A Python client saturates before our server does on two cores, so the load comes from wrk: one
thread, C connections, a fixed duration. A small Lua script sets the method, body and headers,
and its done() hook prints the exact percentiles and error counts as one JSON line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_REPORT = r"""
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %f, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    latency.max, errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
"""


@dataclass(frozen=True)
class Request:
    """What wrk sends, over and over."""

    path: str
    method: str = "GET"
    body: bytes = b""
    content_type: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # (name, value), ASCII

    def lua(self) -> str:
        # Lua string literals take any byte as a decimal escape: the body goes in verbatim.
        body = "".join(f"\\{byte}" for byte in self.body)
        lines = [f'wrk.method = "{self.method}"', f'wrk.body = "{body}"']
        if self.content_type:
            lines.append(f'wrk.headers["Content-Type"] = "{self.content_type}"')
        for name, value in self.headers:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'wrk.headers["{name}"] = "{escaped}"')
        return "\n".join(lines) + "\n" + _REPORT


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # connect/read/write/timeout errors plus non-2xx answers

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian's package)")
    return path


def _command(
    script: Path, url: str, request: Request, connections: int, seconds: float
) -> list[str]:
    script.write_text(request.lua())
    return [
        require_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url + request.path,
    ]


@contextmanager
def wrk_in_background(
    url: str, request: Request | None, connections: int, seconds: float
) -> Iterator[None]:
    """A second wrk sending `request` while the body runs (nothing when request is None); it
    starts half a second early, so the measured window sees it at full load."""
    if request is None:
        yield
        return
    with tempfile.TemporaryDirectory() as folder:
        command = _command(Path(folder) / "background.lua", url, request, connections, seconds + 1)
        load = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            yield
        finally:
            load.wait(timeout=seconds + 60)


def run_wrk(url: str, request: Request, connections: int, seconds: float) -> WrkResult:
    """wrk -t1 -cC -dS against url+path; raises if wrk fails or prints no report."""
    with tempfile.TemporaryDirectory() as folder:
        command = _command(Path(folder) / "request.lua", url, request, connections, seconds)
        finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    for line in finished.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            report = json.loads(line.removeprefix("WRK_JSON "))
            return WrkResult(
                requests=report["requests"],
                seconds=report["seconds"],
                p50_ms=report["p50_us"] / 1000,
                p99_ms=report["p99_us"] / 1000,
                errors=sum(report["errors"].values()),
            )
    raise RuntimeError(f"wrk printed no report: {finished.stdout[-500:]} {finished.stderr[-500:]}")
