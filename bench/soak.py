"""Soak test: concurrency 64 against the real server for N minutes (run by hand).

    python -m bench.soak --minutes 10

Every 10 s it prints requests, errors and the server's RSS; at the end, the RSS growth after
warm-up (the first report). Targets: zero errors, RSS growth under 5 %. The request mix covers
every model route with the shipped weights: sample (PNG and JSON), decode, encode, reconstruct,
interpolate and score.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import json
import random
import sys
import time
from pathlib import Path

import httpx

from bench.servers import Server, started

REPO = Path(__file__).resolve().parents[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def soak(url: str, pid: int, minutes: float, concurrency: int) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        digit = (await client.get("/sample", params={"seed": 1})).content
        image_json = {"images": [base64.b64encode(digit).decode()] * 2}
        latents = (
            await client.get("/sample", params={"n": 2, "seed": 2, "format": "json"})
        ).json()["latents"]
        requests = [
            lambda: client.get("/sample", params={"n": random.randint(1, 16)}),
            lambda: client.get(
                "/sample", params={"n": 4, "format": "json", "digit": random.randint(0, 9)}
            ),
            lambda: client.post("/decode", json={"latents": latents}),
            lambda: client.post("/encode", content=digit, headers={"Content-Type": "image/png"}),
            lambda: client.post("/reconstruct", json=image_json),
            lambda: client.post("/interpolate", json={"latents": latents, "steps": 8}),
            lambda: client.post("/score", params={"k": 32}, json=image_json),
        ]
        done, errors = 0, 0
        kinds: collections.Counter[str] = collections.Counter()  # what each error was
        stop_at = time.monotonic() + minutes * 60

        async def user() -> None:
            nonlocal done, errors
            while time.monotonic() < stop_at:
                try:
                    response = await random.choice(requests)()
                    ok = response.status_code < 400
                    if not ok:
                        kinds[f"{response.url.path} {response.status_code}"] += 1
                except httpx.HTTPError as error:
                    ok = False
                    kinds[type(error).__name__] += 1
                done += ok
                errors += not ok

        async def reporter() -> list[float]:
            samples: list[float] = []
            started = time.monotonic()
            while time.monotonic() < stop_at:
                await asyncio.sleep(10)
                samples.append(rss_mib(pid))
                print(
                    json.dumps(
                        {
                            "t_s": round(time.monotonic() - started),
                            "requests": done,
                            "errors": errors,
                            "rss_mib": round(samples[-1], 1),
                        }
                    ),
                    flush=True,
                )
            return samples

        results = await asyncio.gather(reporter(), *(user() for _ in range(concurrency)))
        rss = results[0]
    growth = (rss[-1] - rss[0]) / rss[0] * 100 if len(rss) > 1 else float("nan")
    return {
        "error_kinds": dict(kinds),
        "minutes": minutes,
        "concurrency": concurrency,
        "requests": done,
        "errors": errors,
        "rss_first_mib": round(rss[0], 1),
        "rss_last_mib": round(rss[-1], 1),
        "rss_max_mib": round(max(rss), 1),
        "rss_growth_after_warmup_pct": round(growth, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    server = Server(
        "vae-serve",
        [sys.executable, "-m", "app.cli"],
        {"VAE_WEIGHTS": str(REPO / "weights"), "VAE_HOST": "127.0.0.1", "VAE_DEVICE": "cpu"},
    )
    with started(server) as (url, pid):
        summary = asyncio.run(soak(url, pid, args.minutes, args.concurrency))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
