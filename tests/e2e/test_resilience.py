"""Faults and overload against real uvicorn processes: loopback only, bounded in time."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import signal
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

from tests.app.conftest import digit_png
from tests.e2e.conftest import running, start

IMAGES = {"images": [base64.b64encode(digit_png()).decode()] * 16}


def test_a_client_that_trickles_its_body_gets_408(weights_dir: Path) -> None:
    with running(weights_dir, VAE_BODY_TIMEOUT_S="1") as live:
        address = urlparse(live.url)
        with socket.create_connection((address.hostname, address.port), timeout=10) as client:
            client.sendall(
                b"POST /encode HTTP/1.1\r\nHost: test\r\nContent-Type: image/png\r\n"
                b"Content-Length: 1000\r\n\r\n"
            )
            started = time.monotonic()
            answer = b""
            client.setblocking(False)
            while time.monotonic() - started < 8 and b"\r\n\r\n" not in answer:
                with contextlib.suppress(OSError):
                    client.sendall(b"x")  # one byte at a time, far too slowly
                time.sleep(0.2)
                with contextlib.suppress(BlockingIOError):
                    answer += client.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.monotonic() - started < 4
        assert httpx.get(f"{live.url}/livez").status_code == 200  # and the server is fine


def test_overload_gives_429_never_5xx_and_probes_still_answer(weights_dir: Path) -> None:
    with running(weights_dir, VAE_QUEUE_SIZE="2", VAE_MAX_SCORE_K="500") as live:

        async def flood() -> tuple[list[int], list[int]]:
            async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
                work = [
                    client.post("/score", params={"k": 500, "seed": 0}, json=IMAGES)
                    for _ in range(24)
                ]
                flooding = asyncio.gather(*work)
                await asyncio.sleep(0.3)
                probes = [
                    (await client.get(path, timeout=2)).status_code
                    for path in ("/livez", "/readyz", "/metrics")
                ]
                return [r.status_code for r in await flooding], probes

        statuses, probes = asyncio.run(flood())
    assert probes == [200, 200, 200]
    assert 429 in statuses
    assert 200 in statuses
    assert all(status in (200, 429) for status in statuses), statuses


def test_sigterm_finishes_in_flight_requests_then_exits_0(weights_dir: Path) -> None:
    with running(weights_dir, cli=True, VAE_MAX_SCORE_K="5000") as live:
        result: dict[str, object] = {}

        def slow_request() -> None:
            response = httpx.post(
                f"{live.url}/score", params={"k": 5000, "seed": 1}, json=IMAGES, timeout=60
            )
            result["finished"] = time.monotonic()
            result["status"] = response.status_code
            result["nll"] = len(response.json()["nll"])

        caller = threading.Thread(target=slow_request)
        caller.start()
        time.sleep(0.5)  # the request is in flight
        live.process.send_signal(signal.SIGTERM)
        terminated = time.monotonic()
        caller.join(timeout=60)
        code, output = live.stop(seconds=30)
    assert float(result.pop("finished")) > terminated  # type: ignore[arg-type]
    assert result == {"status": 200, "nll": 16}, output
    assert code == 0, output


def test_an_artifact_with_the_wrong_digest_is_refused(tiny_artifact: Path) -> None:
    server = start(tiny_artifact, VAE_EXPECTED_SHA256=json.dumps({"tiny.pt": "0" * 64}))
    server.process.wait(timeout=60)
    code, output = server.stop()
    assert code != 0
    assert "does not match the expected" in output
    assert "Traceback" not in output
