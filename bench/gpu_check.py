"""The GPU check behind scripts/gpu-check.sh: start-up time, device, bench rows, raw decode."""

from __future__ import annotations

import json
import sys
import time

import httpx
import torch

from bench.rows import ROWS
from bench.servers import WEIGHTS, Server, started
from bench.wrk import run_wrk

GPU_ROWS = ("/sample n=1 PNG, C=1", "/sample n=1 PNG, C=32", "/sample n=64 grid PNG, C=8")


def raw_decode(rows: int, seconds: float = 3.0) -> float:
    """Images per second through decode alone, on the GPU, synchronised."""
    module = torch.jit.load(str(WEIGHTS), map_location="cuda").eval()
    z = torch.randn(rows, 32, device="cuda")
    with torch.inference_mode():
        for _ in range(10):
            module.decode(z)
        torch.cuda.synchronize()
        calls, begun = 0, time.perf_counter()
        while time.perf_counter() - begun < seconds:
            module.decode(z)
            calls += 1
        torch.cuda.synchronize()
    return rows * calls / (time.perf_counter() - begun)


def main() -> None:
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here: this check needs one")
    card = torch.cuda.get_device_name(0)
    env = {"VAE_DEVICE": "cuda", "VAE_WEIGHTS": str(WEIGHTS), "VAE_HOST": "127.0.0.1"}
    server = Server("vae-serve on cuda", [sys.executable, "-m", "app.cli"], env)
    begun = time.monotonic()
    with started(server) as (url, _):
        ready_s = time.monotonic() - begun
        devices = {m["name"]: m["device"] for m in httpx.get(url + "/models").json()["models"]}
        assert all(d.startswith("cuda") for d in devices.values()), devices
        rows = {}
        for row in GPU_ROWS:
            request, connections = ROWS[row]
            run_wrk(url, request, connections, 1)
            result = run_wrk(url, request, connections, 6)
            rows[row] = {
                "rps": round(result.rps),
                "p50_ms": result.p50_ms,
                "p99_ms": result.p99_ms,
                "errors": result.errors,
            }
    summary = {
        "card": card,
        "start_to_ready_s": round(ready_s, 2),
        "models_device": devices,
        "rows": rows,
        "raw_decode_images_per_s": {n: round(raw_decode(n)) for n in (1, 64, 1024)},
    }
    print(json.dumps(summary, indent=2))  # noqa: T201 - the report is this command's output


if __name__ == "__main__":
    main()
