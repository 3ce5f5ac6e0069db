"""Closed-loop load generator: C concurrent clients, windows until 3 agree within 10%.

The stopping rule is perf_analyzer's: measure in fixed windows and stop when the throughput of
the last three windows is within ±10% of their mean (or after max_windows).
"""

from __future__ import annotations

import asyncio
import collections
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

RequestFactory = Callable[[httpx.AsyncClient], Any]


@dataclass
class Result:
    name: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    stable: bool
    failures: dict[str, int]  # errors by kind, over all measured windows

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000

    def row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "error_rate": round(self.errors / max(1, self.requests + self.errors), 4),
            "requests": self.requests,
            "stable": self.stable,
            "failures": self.failures,
        }


async def _window(
    client: httpx.AsyncClient,
    send: RequestFactory,
    concurrency: int,
    seconds: float,
    failures: collections.Counter[str],
) -> tuple[int, int, list[float]]:
    """One window of closed-loop load: (successes, errors, latencies); errors by kind."""
    stop_at = time.perf_counter() + seconds
    done, errors, latencies = 0, 0, []

    async def one_client() -> None:
        nonlocal done, errors
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                response = await send(client)
                failure = None if response.status_code < 400 else f"HTTP {response.status_code}"
            except httpx.HTTPError as error:
                failure = type(error).__name__
            if failure is None:
                done += 1
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1
                failures[failure] += 1

    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return done, errors, latencies


async def measure(
    url: str,
    name: str,
    send: RequestFactory,
    concurrency: int,
    window_s: float = 2.0,
    max_windows: int = 10,
) -> Result:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        failures: collections.Counter[str] = collections.Counter()
        await _window(client, send, concurrency, 0.5, collections.Counter())  # warm-up
        windows: list[tuple[int, int, list[float]]] = []
        stable = False
        while len(windows) < max_windows:
            windows.append(await _window(client, send, concurrency, window_s, failures))
            if len(windows) >= 3:
                rates = [w[0] / window_s for w in windows[-3:]]
                mean = statistics.mean(rates)
                if mean > 0 and all(abs(r - mean) <= 0.1 * mean for r in rates):
                    stable = True
                    break
        last = windows[-3:]
        return Result(
            name,
            concurrency,
            sum(w[0] for w in last),
            sum(w[1] for w in last),
            window_s * len(last),
            [x for w in last for x in w[2]],
            stable,
            dict(failures),
        )
