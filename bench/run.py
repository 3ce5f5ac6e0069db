"""Throughput benchmark: vae-serve against the servers a user would pick instead (run by hand).

    make bench                                  # the full table: every row, 2 rounds
    python -m bench.run --quick                 # 1 round, 3-second windows
    python -m bench.run --variant nolog:VAE_ACCESS_LOG=false --variant wait2:VAE_MAX_WAIT_MS=2
    python -m bench.run --only colour           # the rows whose name contains "colour"

All servers serve the same artifact (weights/mnist-bernoulli.pt; for the colour row
weights/emoji-gaussian.pt) on loopback, one at a time,
and wrk drives them (`bench.wrk`). Peers: a bare FastAPI endpoint returning a fixed PNG (the
HTTP ceiling), a naive FastAPI app (decode and PNG in the thread pool), and LitServe with one
worker, with and without its batching. Each row's ratio compares ours with the best peer (the
bare ceiling is not a peer). The raw in-process compute ceiling (decode plus PNG) is measured
too. Every figure is a median over rounds; only ratios within one run mean anything on a
shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from bench.ceiling import compute_ceiling
from bench.lineup import passes, servers
from bench.rows import BACKGROUND, LIT_SAMPLE, ROWS
from bench.servers import rss_mib, started
from bench.wrk import WrkResult, require_wrk, run_wrk, wrk_in_background


def measure(args: argparse.Namespace, variants: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
    results: dict[tuple[str, str], list[WrkResult]] = {}
    memory: dict[str, float] = {}
    for _ in range(args.rounds):
        for server, rows in (
            part
            for every in servers(variants, args.granian, args.baseline)
            for part in passes(every)
        ):
            rows = [row for row in rows if not args.only or args.only in row]
            if not rows:
                continue
            with started(server) as (url, pid):
                for row in rows:
                    request, connections = ROWS[row]
                    if server.name.startswith("LitServe"):
                        request = LIT_SAMPLE
                    run_wrk(url, request, connections, 1)  # warm-up
                    with wrk_in_background(url, *BACKGROUND.get(row, (None, 0)), args.seconds):
                        result = run_wrk(url, request, connections, args.seconds)
                    results.setdefault((server.name, row), []).append(result)
                    if row.endswith("C=64"):
                        memory[server.name] = max(memory.get(server.name, 0.0), rss_mib(pid))
                    print(
                        f"{server.name:<28} {row:<30} {result.rps:9.0f} req/s "
                        f"p50 {result.p50_ms:7.2f} p99 {result.p99_ms:8.2f} err {result.errors}",
                        file=sys.stderr,
                    )
    return {"results": results, "memory": memory, "compute": compute_ceiling()}


def median(results: list[WrkResult]) -> dict[str, float]:
    return {
        "rps": statistics.median(r.rps for r in results),
        "p50_ms": statistics.median(r.p50_ms for r in results),
        "p99_ms": statistics.median(r.p99_ms for r in results),
        "errors": sum(r.errors for r in results),
    }


def report(measured: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    results = measured["results"]
    every = servers(args.variant, args.granian, args.baseline)
    names = [server.name for server in every]
    peers = [server.name for server in every if server.peer]
    rows = []
    for row in ROWS:
        best_peer = max(
            (median(results[(p, row)])["rps"] for p in peers if (p, row) in results), default=0.0
        )
        for name in names:
            if (name, row) not in results:
                continue
            figures = median(results[(name, row)])
            rows.append(
                {
                    "row": row,
                    "server": name,
                    **{k: round(v, 2) for k, v in figures.items()},
                    "ratio_to_best_peer": round(figures["rps"] / best_peer, 2)
                    if best_peer
                    else None,
                    "rss_mib_c64": round(measured["memory"].get(name, 0.0))
                    if row.endswith("C=64")
                    else None,
                }
            )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'row':<30} {'server':<30} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'÷ best peer':>11}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        ratio = "" if row["ratio_to_best_peer"] is None else f"{row['ratio_to_best_peer']:.2f}"
        lines.append(
            f"{row['row']:<30} {row['server']:<30} {row['rps']:>8.0f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['errors']:>6.0f} {ratio:>11}"
        )
    return "\n".join(lines)


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """`name:KEY=VALUE,KEY=VALUE` → (name, env)."""
    name, _, assignments = text.partition(":")
    env = dict(pair.split("=", 1) for pair in assignments.split(",") if pair)
    return name, env


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds (median; default 2)")
    parser.add_argument("--seconds", type=float, default=6.0, help="wrk window per row")
    parser.add_argument("--quick", action="store_true", help="1 round of 3-second windows")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        type=parse_variant,
        metavar="NAME:KEY=VALUE,...",
        help="also run vae-serve with these VAE_ settings (repeatable)",
    )
    parser.add_argument(
        "--granian", action="store_true", help="also serve vae-serve's app with granian"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also run the vae-serve of another checkout (git worktree add DIR COMMIT)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--only", metavar="TEXT", help="measure only the rows whose name contains TEXT"
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 3.0
    require_wrk()
    measured = measure(args, args.variant)
    rows = report(measured, args)
    print(table(rows))
    compute = {k: round(v, 1) for k, v in measured["compute"].items()}
    memory = {k: round(v) for k, v in measured["memory"].items()}
    print(
        json.dumps(
            {"compute_ceiling": compute, "rss_mib_at_c64": memory, "cpus": os.cpu_count()}, indent=2
        )
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"rows": rows, "compute_ceiling": compute, "rss_mib_at_c64": memory}, indent=2
            )
        )


if __name__ == "__main__":
    main()
