"""Flood soak: heavy animations from clients that give up, mixed with small requests and uploads,
then SIGTERM during a second flood (run by hand; about two minutes).

    python -m bench.flood                     # this checkout
    python -m bench.flood --repo ../old-main  # another checkout, for a before/after table

What it reports, and the targets of docs/deployment.md ("Throughput and faults"):
- peak RSS over idle (≤ 500 MB);
- how many answers were 429 (or 503; the clients then wait Retry-After), and how many heavy
  requests the clients gave up on;
- p99 of small requests (/sample?n=1) unloaded, during the flood and after it (after ≤ 2× unloaded);
- seconds from the flood's end until the server's CPU is idle (≤ 2 s);
- seconds from SIGTERM, sent during a second flood, to the process's exit (≤ the grace period);
- seeded answers that differ from the same URL asked alone (0).

The server is started as `python -m app.cli` in the checkout, with the shipped weights, on the
CPU. Idleness is read from /proc (CPU time), so it means the same for any version.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import io
import json
import os
import random
import signal
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from bench.servers import REPO, Server, rss_mib, started

MODEL = "emoji-gaussian"
HEAVY = "/walk.gif?model={model}&n=16&steps=16&scale=2&seed={seed}"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def photo_png(side: int, seed: int) -> bytes:
    """A noisy colour photo-like PNG (incompressible, so its size on the wire is honest)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def p99(values: list[float]) -> float:
    return float(np.percentile(values, 99)) * 1000 if values else float("nan")


async def small_latencies(url: str, seconds: float, clients: int = 2) -> list[float]:
    """Seconds per /sample?n=1 for `clients` sequential clients; a timeout counts as 10 s."""
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10) as session:
            while time.monotonic() < stop:
                started = time.monotonic()
                try:
                    await session.get("/sample", params={"n": 1, "seed": random.randrange(10**6)})
                    latencies.append(time.monotonic() - started)
                except httpx.TimeoutException:
                    latencies.append(10.0)
                except httpx.TransportError:  # a keep-alive closed at shutdown
                    break
                await asyncio.sleep(0.02)

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


async def flood(
    url: str, pid: int, seconds: float, give_up_s: float, statuses: collections.Counter[str]
) -> tuple[list[float], float]:
    """32 heavy clients that give up after `give_up_s`, 2 uploaders, 2 small clients; returns
    the small latencies and the peak RSS (MiB) seen."""
    stop = time.monotonic() + seconds
    uploads = [photo_png(512, seed) for seed in range(4)]  # 3 MB: within the body limit

    async def heavy(index: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=give_up_s) as session:
            while time.monotonic() < stop:
                seed = random.randrange(10**9)
                try:
                    answer = await session.get(HEAVY.format(model=MODEL, seed=seed))
                    statuses[f"walk {answer.status_code}"] += 1
                    if answer.status_code in (429, 503):  # as a client should: Retry-After
                        await asyncio.sleep(float(answer.headers.get("retry-after", 1)))
                except httpx.TimeoutException:
                    statuses["walk gave up"] += 1
                except httpx.TransportError as error:
                    statuses[f"walk {type(error).__name__}"] += 1

    async def uploader() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=give_up_s) as session:
            while time.monotonic() < stop:
                files = [("file", (f"{i}.png", png, "image/png")) for i, png in enumerate(uploads)]
                try:
                    answer = await session.post("/encode", params={"model": MODEL}, files=files)
                    statuses[f"encode {answer.status_code}"] += 1
                    if answer.status_code in (429, 503):
                        await asyncio.sleep(float(answer.headers.get("retry-after", 1)))
                except httpx.TimeoutException:
                    statuses["encode gave up"] += 1
                except httpx.TransportError as error:  # a keep-alive closed at shutdown
                    statuses[f"encode {type(error).__name__}"] += 1

    peak = rss_mib(pid)

    async def watch() -> None:
        nonlocal peak
        while time.monotonic() < stop:
            peak = max(peak, rss_mib(pid))
            await asyncio.sleep(0.5)

    results = await asyncio.gather(
        small_latencies(url, seconds),
        watch(),
        *(heavy(i) for i in range(32)),
        *(uploader() for _ in range(2)),
    )
    return results[0], peak


def seconds_to_idle(pid: int, limit_s: float = 60.0) -> float:
    """From now until a half second in which the process used under 5 % of a core."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.025:
            return round(time.monotonic() - started - 0.5, 1)
    return float("inf")


async def differing_seeded(url: str) -> int:
    """Seeded samples alone, then all at once among unseeded ones: how many answers differ."""
    urls = [f"/sample?model={MODEL}&seed={seed}" for seed in range(100)]
    async with httpx.AsyncClient(base_url=url, timeout=120) as session:
        alone = [(await session.get(u)).content for u in urls]
        noise = [f"/sample?model={MODEL}&n={1 + i % 7}" for i in range(300)]
        mixed = urls + noise
        random.shuffle(mixed)
        answers = await asyncio.gather(*(session.get(u) for u in mixed))
    together = {u: a.content for u, a in zip(mixed, answers, strict=True) if u in set(urls)}
    return sum(together[u] != a for u, a in zip(urls, alone, strict=True))


def run(repo: Path, flood_s: float, give_up_s: float, grace_s: float) -> dict[str, object]:
    server = Server(
        f"vae-serve ({repo})",
        [sys.executable, "-m", "app.cli"],
        {
            "VAE_WEIGHTS": str(REPO / "weights"),
            "VAE_HOST": "127.0.0.1",
            "VAE_DEVICE": "cpu",
            "VAE_ACCESS_LOG": "false",
            "VAE_SHUTDOWN_GRACE_S": str(grace_s),
        },
        cwd=repo,
    )
    statuses: collections.Counter[str] = collections.Counter()
    with started(server) as (url, pid):
        time.sleep(3)
        idle_rss = rss_mib(pid)
        unloaded = asyncio.run(small_latencies(url, 8))
        differ = asyncio.run(differing_seeded(url))
        during, peak = asyncio.run(flood(url, pid, flood_s, give_up_s, statuses))
        to_idle = seconds_to_idle(pid)
        after = asyncio.run(small_latencies(url, 10))
        # SIGTERM in the middle of a second, short flood.
        second: collections.Counter[str] = collections.Counter()

        async def flood_then_terminate() -> float:
            pending = asyncio.ensure_future(flood(url, pid, 6, give_up_s, second))
            await asyncio.sleep(3)
            os.kill(pid, signal.SIGTERM)
            terminated = time.monotonic()
            await pending
            return terminated

        terminated = asyncio.run(flood_then_terminate())
        exit_s = float("inf")
        while time.monotonic() - terminated < 60:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                exit_s = round(time.monotonic() - terminated, 1)
                break
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                exit_s = round(time.monotonic() - terminated, 1)
                break
            time.sleep(0.1)
    refused = sum(n for kind, n in statuses.items() if kind.endswith((" 429", " 503")))
    return {
        "repo": str(repo),
        "flood_s": flood_s,
        "idle_rss_mib": round(idle_rss),
        "peak_rss_over_idle_mib": round(peak - idle_rss),
        "answers": dict(statuses),
        "refused_429_503": refused,
        "small_p99_ms": {
            "unloaded": round(p99(unloaded), 1),
            "during": round(p99(during), 1),
            "after": round(p99(after), 1),
        },
        "seconds_to_idle": to_idle,
        "sigterm_to_exit_s": exit_s,
        "grace_s": grace_s,
        "seeded_answers_that_differ": differ,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout to serve from")
    parser.add_argument("--flood-seconds", type=float, default=40.0)
    parser.add_argument("--give-up-seconds", type=float, default=5.0)
    parser.add_argument("--grace-seconds", type=float, default=20.0)
    args = parser.parse_args()
    summary = run(args.repo.resolve(), args.flood_seconds, args.give_up_seconds, args.grace_seconds)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
