"""The bench row of serving a diffusion model's VAE: /decode of 4×32×32 latents (256×256
pictures) as .npy, vae-serve against a naive FastAPI app that calls diffusers directly, in one
run (by hand; a few minutes).

    python -m bench.diffusers_row --seconds 10

Both serve the same AutoencoderKL: Stable Diffusion's layout (four blocks, pictures 8× the
latent) at a quarter of its widths, random weights, built from its config (no hub here);
vae-serve from the artifact `vae-export` writes of its folder. wrk sends one latent per request
(float16 .npy, 8 KB) at C connections; the figures are medians of the rounds.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from bench.servers import Server, rss_mib, started
from bench.wrk import Request, require_wrk, run_wrk


def sd_like_vae(folder: Path) -> Path:
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    AutoencoderKL(
        block_out_channels=(32, 64, 128, 128),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2,
        latent_channels=4,
        norm_num_groups=32,
        sample_size=256,
    ).save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", default="1,4,16")
    args = parser.parse_args()
    require_wrk()
    work = Path(tempfile.mkdtemp(prefix="vae-bench-diffusers-"))
    folder = sd_like_vae(work / "sd-like-vae")
    from model.export.command import main as vae_export

    vae_export([str(folder), "--output", str(work / "weights" / "sd-like-vae.pt")])
    z = np.random.default_rng(0).standard_normal((1, 4, 32, 32)).astype(np.float16)
    body = io.BytesIO()
    np.save(body, z)
    request = Request("/decode.npy", "POST", body.getvalue(), "application/x-npy")
    servers = [
        Server(
            "vae-serve",
            [sys.executable, "-m", "app.cli"],
            {
                "VAE_WEIGHTS": str(work / "weights"),
                "VAE_DEVICE": "cpu",
                "VAE_HOST": "127.0.0.1",
                "VAE_ACCESS_LOG": "false",
            },
            peer=False,
        ),
        Server(
            "naive FastAPI + diffusers",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.peers.naive_diffusers:app",
                "--port",
                "{port}",
            ],
            {"VAE_BENCH_DIFFUSERS": str(folder)},
        ),
    ]
    results: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.rounds):
        for server in servers:
            with started(server) as (url, pid):
                for connections in (int(c) for c in args.connections.split(",")):
                    run_wrk(url, request, connections, 2)  # warm-up
                    result = run_wrk(url, request, connections, args.seconds)
                    row = results.setdefault(f"{server.name}, C={connections}", {})
                    row.setdefault("rps", []).append(result.rps)
                    row.setdefault("p50_ms", []).append(result.p50_ms)
                    row.setdefault("p99_ms", []).append(result.p99_ms)
                    row.setdefault("errors", []).append(float(result.errors))
                    row.setdefault("rss_mib", []).append(rss_mib(pid))
                    print(
                        f"{server.name:<28} C={connections:<3} {result.rps:7.1f} req/s "
                        f"p50 {result.p50_ms:8.1f} p99 {result.p99_ms:8.1f}",
                        flush=True,
                    )
    table = {
        row: {key: round(statistics.median(values), 1) for key, values in figures.items()}
        for row, figures in results.items()
    }
    print(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
