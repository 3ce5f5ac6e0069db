"""The promises under load, against real uvicorn processes: bounded work, no work for clients
that left, an exit within the grace period on SIGTERM, and the same bytes for the same URL
whatever shares its batch (the shipped models)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, running

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
# 256 frames of 112×112: a large answer, encoded in the encoder pool (about a second of GIF).
HEAVY_WALK = "/walk.gif?n=16&steps=16&scale=4&seed={seed}"


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time, from /proc (no psutil needed)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def impatient_flood(url: str, seconds: float, give_up_s: float) -> list[int | str]:
    """16 clients asking for heavy walks, each giving up after `give_up_s`, for `seconds`."""
    statuses: list[int | str] = []
    stop = time.monotonic() + seconds

    async def client(index: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=give_up_s) as session:
            seed = index * 1000
            while time.monotonic() < stop:
                seed += 1
                try:
                    statuses.append((await session.get(HEAVY_WALK.format(seed=seed))).status_code)
                except httpx.TimeoutException:
                    statuses.append("gave up")

    await asyncio.gather(*(client(index) for index in range(16)))
    return statuses


def test_clients_that_give_up_leave_no_work_behind(weights_dir: Path) -> None:
    """The flood's work is bounded (429s once the encode stage is full) and work for clients
    that went away is dropped: two seconds after the flood the server is idle, and a small
    request is answered at once."""
    with running(weights_dir, VAE_HEAVY_QUEUE_SIZE="2") as live:
        statuses = asyncio.run(impatient_flood(live.url, seconds=6, give_up_s=0.5))
        time.sleep(2.0)
        before = cpu_seconds(live.process.pid)
        time.sleep(2.0)
        busy = cpu_seconds(live.process.pid) - before
        started = time.monotonic()
        small = httpx.get(f"{live.url}/sample?n=1&seed=1", timeout=10)
        small_s = time.monotonic() - started
        metrics = httpx.get(f"{live.url}/metrics", timeout=10).text
    assert 429 in statuses, statuses
    assert busy < 0.3, f"still busy for {busy:.2f} of 2 CPU seconds after the flood"
    assert small.status_code == 200
    assert small_s < 0.5
    assert 'vae_stage_depth{stage="encode"} 0.0' in metrics
    assert 'vae_stage_depth{stage="batch"} 0.0' in metrics


def test_sigterm_during_a_flood_exits_within_the_grace_period(weights_dir: Path) -> None:
    """Every request gets an answer (200, 429 or 503, never a hang or a reset before one) and
    the process exits 0 within the grace period."""
    with running(
        weights_dir, cli=True, VAE_SHUTDOWN_GRACE_S="3", VAE_MAX_SCORE_K="5000"
    ) as live:
        statuses: list[int | str] = []

        async def flood_then_terminate() -> float:
            async with httpx.AsyncClient(base_url=live.url, timeout=60) as session:

                async def heavy(seed: int) -> None:
                    try:
                        answer = await session.get(HEAVY_WALK.format(seed=seed))
                        statuses.append(answer.status_code)
                    except httpx.TransportError as error:
                        statuses.append(type(error).__name__)

                work = [asyncio.ensure_future(heavy(seed)) for seed in range(40)]
                await asyncio.sleep(1.0)
                live.process.send_signal(signal.SIGTERM)
                terminated = time.monotonic()
                await asyncio.gather(*work)
                return terminated

        terminated = asyncio.run(flood_then_terminate())
        live.process.wait(timeout=30)
        exited_after = time.monotonic() - terminated
        code, output = live.stop()
    assert code == 0, output[-2000:]
    assert exited_after <= 3.5, f"exited {exited_after:.1f} s after SIGTERM"
    assert set(statuses) <= {200, 429, 503}, statuses
    assert 200 in statuses


def seeded_urls() -> list[str]:
    """Seeded URLs of each shipped model: samples of one and of several, a walk."""
    urls = []
    for model, seeds in (("mnist-bernoulli", 24), ("mnist-gaussian", 24), ("emoji-gaussian", 96)):
        urls += [f"/sample?model={model}&seed={seed}" for seed in range(seeds)]
        urls += [f"/sample?model={model}&seed={seed}&n=3" for seed in (40, 41)]
        urls.append(f"/walk.webp?model={model}&seed=5&n=2&steps=3")
    return urls


async def fetch_all(server: Server, urls: list[str]) -> list[bytes]:
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as session:
        answers = await asyncio.gather(*(session.get(url) for url in urls))
    assert all(answer.status_code == 200 for answer in answers)
    return [answer.content for answer in answers]


@pytest.mark.slow
def test_the_same_url_gives_the_same_bytes_whatever_shares_its_batch() -> None:
    """Each seeded URL alone, then all of them at once, shuffled among unseeded requests of
    other sizes: every answer is byte for byte the one it gave alone, as its strong ETag and
    `immutable` promise."""
    urls = seeded_urls()
    noise = [
        f"/sample?model={model}&n={n}"
        for model in ("mnist-bernoulli", "mnist-gaussian", "emoji-gaussian")
        for n in (1, 2, 5, 7)
    ]
    with running(WEIGHTS) as live:
        alone = [asyncio.run(fetch_all(live, [url]))[0] for url in urls]
        headers = httpx.get(f"{live.url}{urls[0]}", timeout=60).headers
        for round_ in range(3):
            mixed = urls + noise * 3
            order = sorted(range(len(mixed)), key=lambda i: (i * 7919 + round_) % len(mixed))
            answers = asyncio.run(fetch_all(live, [mixed[i] for i in order]))
            together = {order[k]: answers[k] for k in range(len(order))}
            differ = [urls[i] for i in range(len(urls)) if together[i] != alone[i]]
            assert differ == [], f"round {round_}: {len(differ)} seeded answers differ"
    assert not headers["etag"].startswith("W/")
    assert "immutable" in headers["cache-control"]
