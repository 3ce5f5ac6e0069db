"""Seconds per training epoch of each speed choice, on one machine in one run (by hand).

    python -m bench.train_speed --data-dir path/to/emoji-64 --steps 20

Each row runs the training step (ELBO, AdamW, gradient clipping) of the same network on
batches of 64 pictures of the data's size, and reports the median step time scaled to one
epoch of the train split. The rows: the network before issue 25 (flat latent, transposed
convolutions, no norm) and the grid network after, in float32, channels-last, bf16 autocast
(where the CPU has it natively), torch.compile, and a larger batch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from model.config import ModelConfig
from model.data import survey_shape
from model.networks import VAE
from model.train import ElboObjective


def epoch_seconds(
    config: ModelConfig,
    pictures: int,
    steps: int,
    batch: int = 64,
    channels_last: bool = True,
    bf16: bool = False,
    compiled: bool = False,
) -> dict[str, Any]:
    torch.manual_seed(0)
    vae = VAE(config)
    if channels_last:
        vae.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    objective = ElboObjective(vae, bf16)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=1e-3)
    x = torch.rand(batch, *config.image_shape)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    noise = torch.randn(batch, config.latent_dim)

    def step() -> None:
        log_lik, kl = objective(x, x, noise)
        loss = (kl - log_lik).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1e9)
        optimizer.step()

    run = torch.compile(step) if compiled else step
    started = time.perf_counter()
    run()  # the first step: compilation, allocation
    first = time.perf_counter() - started
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    per_step = statistics.median(times)
    return {
        "ms_per_step": round(per_step * 1000, 1),
        "s_per_epoch": round(per_step * pictures / batch, 1),
        "first_step_s": round(first, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="a folder with train/")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shape = survey_shape(args.data_dir, "train")
    pictures = sum(1 for p in (args.data_dir / "train").rglob("*") if p.suffix == ".png")
    gaussian = {"likelihood": "gaussian", "image_shape": shape}
    before = ModelConfig(
        **gaussian,  # type: ignore[arg-type]
        latent_dim=128,
        decoder_variance="edge-floor",
        upsample="transpose",
        norm="none",
        bounded_posterior=False,
    )
    after = ModelConfig(**gaussian, latent_shape="4x8x8", res_blocks=1, sigma_floor=1 / 64)  # type: ignore[arg-type]
    rows = [
        ("before: flat 128-d, transposed convs, fp32", before, {"channels_last": False}),
        ("after's network, fp32", after, {"channels_last": False}),
        ("after's network, channels-last", after, {}),
        ("after's network, channels-last, bf16", after, {"bf16": True}),
        ("after's network, channels-last, bf16, batch 128", after, {"bf16": True, "batch": 128}),
        ("after's network, channels-last, torch.compile", after, {"compiled": True}),
    ]
    results = {}
    for name, config, options in rows:
        results[name] = epoch_seconds(config, pictures, args.steps, **options)  # type: ignore[arg-type]
        print(f"{name:<50} {json.dumps(results[name])}", flush=True)
    print(json.dumps({"pictures": pictures, "threads": args.threads, "rows": results}))


if __name__ == "__main__":
    main()
