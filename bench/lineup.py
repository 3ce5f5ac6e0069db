"""The servers the benchmark runs, one at a time: vae-serve (and its variants, granian, an
earlier checkout) and the peers a user would pick instead, each with the rows it serves, on
the MNIST artifact and, for the colour row, the colour one (bench.run measures them)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from bench.rows import COLOUR_ROW, OURS_ONLY, ROWS, SAMPLE_ROWS
from bench.servers import COLOUR_WEIGHTS, WEIGHTS, Server


def uvicorn(app: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def granian_ours(env: dict[str, str]) -> Server:
    """vae-serve's app under granian (Rust HTTP server) instead of uvicorn, for comparison."""
    command = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--loop",
        "uvloop",
        "--log-level",
        "warning",
        "app.main:app",
    ]
    return Server("vae-serve on granian", command, env, peer=False, rows=tuple(ROWS))


def baseline(checkout: Path) -> Server:
    """An earlier vae-serve, from another checkout (`git worktree add DIR COMMIT`), serving its
    own copy of the Bernoulli network: the "before" of a change."""
    env = {
        "VAE_WEIGHTS": str(checkout / "weights" / "mnist-bernoulli.pt"),
        "VAE_DEVICE": "cpu",
        "VAE_HOST": "127.0.0.1",
        "PYTHONPATH": str(checkout),
    }
    return Server(
        "vae-serve before",
        [sys.executable, "-m", "app.cli"],
        env,
        peer=False,
        rows=tuple(ROWS),
        cwd=checkout,
    )


def servers(
    variants: list[tuple[str, dict[str, str]]], granian: bool = False, before: Path | None = None
) -> list[Server]:
    weights = {"VAE_BENCH_WEIGHTS": str(WEIGHTS)}
    ours_env = {"VAE_WEIGHTS": str(WEIGHTS), "VAE_DEVICE": "cpu", "VAE_HOST": "127.0.0.1"}
    ours = [
        Server(
            f"vae-serve{'' if not name else ' ' + name}",
            [sys.executable, "-m", "app.cli"],
            {**ours_env, **env},
            peer=False,
            rows=tuple(ROWS),
        )
        for name, env in [("", {}), *variants]
    ]
    return [
        Server(
            "bare FastAPI (fixed PNG)",
            uvicorn("bench.peers.bare:app"),
            peer=False,
            rows=SAMPLE_ROWS,
        ),
        Server(
            "minimal batched server",
            uvicorn("bench.peers.minimal:app"),
            weights,
            peer=False,
            rows=SAMPLE_ROWS,
        ),
        Server(
            "naive FastAPI",
            uvicorn("bench.peers.naive:app"),
            weights,
            rows=tuple(row for row in ROWS if row not in OURS_ONLY),
        ),
        Server(
            "LitServe",
            [sys.executable, "-m", "bench.peers.lit", "{port}"],
            {**weights, "VAE_BENCH_BATCH": "1"},
            rows=SAMPLE_ROWS,
        ),
        Server(
            "LitServe batch 32",
            [sys.executable, "-m", "bench.peers.lit", "{port}"],
            {**weights, "VAE_BENCH_BATCH": "32"},
            rows=SAMPLE_ROWS,
        ),
        *ours,
        *([granian_ours(ours_env)] if granian else []),
        *([baseline(before)] if before else []),
    ]


def serving(server: Server, weights: Path) -> Server:
    """The same server on another artifact: every setting that named WEIGHTS names `weights`."""
    env = {k: str(weights) if v == str(WEIGHTS) else v for k, v in server.env.items()}
    return dataclasses.replace(server, env=env)


def passes(server: Server) -> list[tuple[Server, list[str]]]:
    """(server on an artifact, its rows there): the MNIST rows, then the colour row on the
    colour artifact when it is there."""
    mnist_rows = [row for row in server.rows if row != COLOUR_ROW]
    colour = [row for row in server.rows if row == COLOUR_ROW and COLOUR_WEIGHTS.is_file()]
    return [(server, mnist_rows)] + ([(serving(server, COLOUR_WEIGHTS), colour)] if colour else [])
