"""Throughput benchmark: the real server vs the HTTP and compute ceilings (run by hand).

    python -m bench.run                 # shipped weights, CPU, prints a table and JSON lines
    python -m bench.run --quick         # fewer concurrency levels, for a smoke check

Starts uvicorn (the shipped weights) and the bare ceiling app as separate processes on
loopback, drives them with a closed-loop load generator from this process, and measures the
raw model's decode in-process for the compute ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import torch

from bench.load import Result, measure

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(app: str, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """uvicorn APP on a free port with the same settings for ours and the ceiling."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            probe = "/readyz" if app == "app.main:app" else "/sample"
            if httpx.get(url + probe, timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"{app} did not start")
        time.sleep(0.1)
    try:
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def compute_ceiling(weights: Path, rows: int, seconds: float = 5.0) -> float:
    """Raw decode calls per second of `rows` latents, in-process, no HTTP."""
    module = torch.jit.load(str(weights), map_location="cpu")
    z = torch.randn(rows, 32)
    with torch.inference_mode():
        for _ in range(5):
            module.decode(z)
        calls, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            module.decode(z)
            calls += 1
    return calls / (time.perf_counter() - started)


def batch_stats(url: str) -> tuple[float, float]:
    """(batches, rows) so far, from the server's own metrics."""
    text = httpx.get(url + "/metrics", timeout=10).text
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith("vae_batch_size_count") or line.startswith("vae_batch_size_sum")
    }
    return values.get("vae_batch_size_count", 0.0), values.get("vae_batch_size_sum", 0.0)


def table(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'case':<34} {'C':>3} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'err':>6}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['name']:<34} {row['concurrency']:>3} {row['rps']:>9.1f} "
            f"{row['p50_ms']:>8.2f} {row['p95_ms']:>8.2f} {row['p99_ms']:>8.2f} "
            f"{row['error_rate']:>6.3f}"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> None:
    weights = REPO / "weights" / "mnist-bernoulli.pt"
    env = {"VAE_WEIGHTS": str(weights), "VAE_DEVICE": "cpu"}
    latents64 = {
        "latents": torch.randn(64, 32, generator=torch.Generator().manual_seed(0)).tolist()
    }
    png = io.BytesIO()
    from PIL import Image

    Image.new("L", (28, 28), 0).save(png, format="PNG")
    digit = png.getvalue()
    levels = [1, 32] if args.quick else [1, 8, 32, 64]
    results: list[Result] = []

    with serve("bench.ceiling_app:app", {}) as (ceiling, _):
        for c in levels:
            results.append(
                await measure(ceiling, "HTTP ceiling: fixed PNG", lambda cl: cl.get("/sample"), c)
            )

    async def sample(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/sample", params={"n": 1})

    async def decode64(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/decode", params={"format": "json"}, json=latents64)

    async def encode(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/encode", content=digit, headers={"Content-Type": "image/png"})

    batching: dict[str, dict[str, float]] = {}
    for label, wait in (("on", str(args.max_wait_ms)), ("off", None)):
        extra = {"VAE_MAX_WAIT_MS": wait} if wait else {"VAE_MAX_BATCH_SIZE": "1"}
        with serve("app.main:app", {**env, **extra}) as (ours, _):
            if label == "on":
                for c in levels:
                    results.append(await measure(ours, "/sample n=1 PNG", sample, c))
                results.append(await measure(ours, "/decode 64 latents JSON", decode64, 1))
                results.append(await measure(ours, "/decode 64 latents JSON", decode64, 8))
                results.append(await measure(ours, "/encode one PNG", encode, 1))
                results.append(await measure(ours, "/encode one PNG", encode, 32))
            before = batch_stats(ours)
            at32 = await measure(ours, f"/sample n=1 PNG, batching {label}", sample, 32)
            after = batch_stats(ours)
            batches, rows = after[0] - before[0], after[1] - before[1]
            batching[label] = {
                "rps": round(at32.rps, 1),
                "p99_ms": round(at32.percentile(99), 2),
                "mean_batch": round(rows / batches, 2) if batches else 0.0,
            }

    ceiling_decode64 = compute_ceiling(weights, 64)
    rows = [r.row() for r in results]
    print(table(rows))
    for row in rows:
        print(json.dumps(row))

    def best(name: str, c: int) -> float:
        return next(r.rps for r in results if r.name == name and r.concurrency == c)

    summary = {
        "sample_n1_c32_over_http_ceiling": round(
            best("/sample n=1 PNG", 32) / best("HTTP ceiling: fixed PNG", 32), 3
        ),
        "sample_n1_c32_p99_ms": round(
            next(
                r.percentile(99)
                for r in results
                if r.name == "/sample n=1 PNG" and r.concurrency == 32
            ),
            2,
        ),
        "decode64_over_compute_ceiling": round(
            max(best("/decode 64 latents JSON", 1), best("/decode 64 latents JSON", 8))
            / ceiling_decode64,
            3,
        ),
        "compute_ceiling_decode64_per_s": round(ceiling_decode64, 1),
        "batching_at_c32": batching,
        "settings": {
            "max_wait_ms": args.max_wait_ms,
            "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
        },
    }
    print(json.dumps(summary, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--max-wait-ms", type=float, default=2.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
