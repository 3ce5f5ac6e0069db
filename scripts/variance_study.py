"""Decoder variances side by side on one budget: val and val shifted by 2 px (issue 17).

    python scripts/variance_study.py --data-dir DATA --epochs 15 --variants pixel,image,...

Each variant trains the same network for the same epochs; the table gives the negative ELBO
in bits/dim on 1,000 val pictures, as they are and moved by 2 px, and the gap.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import torch

from model.config import ModelConfig, TrainConfig
from model.data import load_split
from model.distributed import start, stop
from model.evaluation.evaluate import shift_metrics
from model.train import train, with_data_shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--train-split", default="train-5k")
    parser.add_argument("--val-split", default="val-5k")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument(
        "--variants",
        default="pixel,image,shared,edge-floor:0.0625,edge-floor:0.015625",
        help="decoder_variance[:edge weight][@augment shift], comma-separated",
    )
    parser.add_argument("--k", type=int, default=1, help="importance samples (1: -ELBO)")
    parser.add_argument("--out", default="runs/variance-study.json")
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0: torch's")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for variant in args.variants.split(","):
        spec, _, shift = variant.partition("@")
        kind, _, weight = spec.partition(":")
        model = ModelConfig(
            likelihood="gaussian",
            latent_dim=args.latent_dim,
            decoder_variance=kind,  # type: ignore[arg-type]
            edge_floor_weight=float(weight) if weight else 1 / 64,
        )
        config = TrainConfig(
            model=model,
            name=f"study-{variant}",
            data_dir=args.data_dir,
            train_split=args.train_split,
            val_split=args.val_split,
            epochs=args.epochs,
            augment_shift=int(shift) if shift else 1,
            variance_warmup_epochs=args.epochs // 3,
            patience=args.epochs,
            out_dir=f"runs/study/{variant.replace(':', '-').replace('@', '-s')}",
        )
        config = with_data_shape(config)
        runtime = start("cpu")
        started = time.monotonic()
        vae, _ = train(config, runtime)
        stop(runtime)
        minutes = (time.monotonic() - started) / 60
        val, _ = load_split(args.data_dir, args.val_split, config.model.image_shape)
        # The val split is sorted by label: every 5th picture gives 1,000 of all classes.
        with torch.no_grad():
            figures = shift_metrics(vae, val[::5], "dequantize", args.k, seed=0)
        row = {"variant": variant, "minutes": round(minutes, 1), **figures}
        rows.append(row)
        print(json.dumps(row), flush=True)
    with open(args.out, "w") as handle:
        json.dump({"config": dataclasses.asdict(config), "rows": rows}, handle, indent=2)
    print("| variant | val | val shifted 2 px | gap |\n|---|---|---|---|")
    for row in rows:
        plain, moved, gap = row["plain"], row["shifted"], row["gap"]
        print(f"| {row['variant']} | {plain:.2f} | {moved:.2f} | {gap:+.2f} |")


if __name__ == "__main__":
    main()
