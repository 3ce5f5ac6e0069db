"""Evaluate a VAE (eager or an exported artifact): negative ELBO, IWAE NLL, bits/dim, samples.

vae-evaluate weights/mnist-bernoulli.pt --data-dir path/to/mnist --k 1000 --out runs/eval

With --store-reference PATH it also writes a copy of the artifact (format 3) that holds the
quantiles of the NLLs it measured, so /score can report percentiles for an artifact exported
before format 3.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from contract.bounds import Scorable, bits_per_dim, score_images
from contract.priors import LatentPrior, Priors
from contract.transforms import to_unit
from model.data import pad_with, read_labelled, shift_fill
from model.evaluation.images import save_grid
from model.evaluation.judging import SampleJudge, add_judging_arguments, decode_all, judge_for
from model.progress import progress

TEMPERATURES = (1.0, 0.8)


class Generative(Scorable, Protocol):
    def decode(self, z: Tensor) -> Tensor: ...


@torch.no_grad()
def score_all(
    model: Scorable, pixels: Tensor, transform: str, k: int, seed: int = 0, batch_images: int = 20
) -> tuple[Tensor, Tensor]:
    """IWAE NLL and negative ELBO (nats) of each picture: [N] each.

    One generator, seeded once, runs through the batches; the images of one batch go through
    contract.bounds.score_images exactly as /score sends them.
    """
    generator = torch.Generator().manual_seed(seed)
    nll, neg_elbo = [], []
    for start in progress(range(0, len(pixels), batch_images), f"IWAE k={k}"):
        x = to_unit(pixels[start : start + batch_images])
        batch_nll, batch_elbo = score_images(model, x, transform, k, generator)
        nll.append(batch_nll)
        neg_elbo.append(batch_elbo)
    return torch.cat(nll), torch.cat(neg_elbo)


def summarise_scores(
    nll_all: Tensor, elbo_all: Tensor, transform: str, k: int, pixels_per_image: int
) -> dict[str, Any]:
    """Mean negative ELBO and IWAE NLL (nats per image), plus bits/dim when dequantized."""
    metrics: dict[str, Any] = {
        "k": k,
        "transform": transform,
        "images": len(nll_all),
        "neg_elbo": float(elbo_all.mean()),
        "nll": float(nll_all.mean()),
        "nll_stderr": float(nll_all.std() / math.sqrt(len(nll_all))),
    }
    if transform == "dequantize":
        metrics["bits_per_dim"] = float(bits_per_dim(nll_all, pixels_per_image).mean())
        metrics["neg_elbo_bits_per_dim"] = float(bits_per_dim(elbo_all, pixels_per_image).mean())
    return metrics


def likelihood_metrics(
    model: Scorable, pixels: Tensor, transform: str, k: int, seed: int = 0
) -> dict[str, Any]:
    """`summarise_scores` of `score_all`: the likelihood figures of a split."""
    nll_all, elbo_all = score_all(model, pixels, transform, k, seed)
    return summarise_scores(nll_all, elbo_all, transform, k, pixels[0].numel())


def score_quantiles(nll_all: Tensor) -> list[float]:
    """The 0th, 1st, …, 100th percentiles of per-picture NLLs: 101 values, non-decreasing.
    Stored at export, they turn a /score figure into a percentile among val pictures."""
    levels = torch.linspace(0, 1, 101, dtype=torch.float64)
    return [float(v) for v in torch.quantile(nll_all.double(), levels)]


def shifted(pixels: Tensor, shift: int = 2, fill: Tensor | None = None) -> Tensor:
    """Each picture moved by `shift` px, right, down, left, up in turn: uint8 [N,C,H,W].

    The gap takes `fill` ([C], the background; black when None). A robust likelihood scores
    these about as well as the originals: the same pictures, two pixels off.
    """
    _, _, height, width = pixels.shape
    padded = pad_with(pixels, shift, fill)  # [N,C,H+2s,W+2s]
    moved = torch.empty_like(pixels)
    # (row, col) of the window's corner: moving the picture right means reading from the left.
    corners = ((shift, 0), (0, shift), (shift, 2 * shift), (2 * shift, shift))
    for index, (top, left) in enumerate(corners):
        moved[index::4] = padded[index::4, :, top : top + height, left : left + width]
    return moved


def shift_metrics(
    model: Scorable,
    pixels: Tensor,
    transform: str,
    k: int,
    seed: int = 0,
    fill: Tensor | None = None,
    limit: int = 1000,
) -> dict[str, Any]:
    """Bits/dim on `limit` val pictures as they are and moved by 2 px (dequantized data only):
    the gap shows an overconfident decoder variance."""
    # Evenly spaced, not the first `limit`: image folders are read class by class.
    subset = pixels[:: max(1, len(pixels) // limit)][:limit]
    plain = likelihood_metrics(model, subset, transform, k, seed)
    moved = likelihood_metrics(model, shifted(subset, 2, fill), transform, k, seed)
    key = "bits_per_dim" if transform == "dequantize" else "nll"
    return {
        "images": len(subset),
        "k": k,
        "shift_px": 2,
        "unit": "bits/dim" if key == "bits_per_dim" else "nats",
        "plain": plain[key],
        "shifted": moved[key],
        "gap": moved[key] - plain[key],
    }


@torch.no_grad()
def sample_metrics(
    model: Generative, judge: SampleJudge, priors: Priors, seed: int = 0
) -> dict[str, Any]:
    """Fréchet distance, MNIST score and distance to the training set of `judge.samples`
    decoded samples, for each prior at each temperature, and the ?digit= agreement."""
    n = judge.samples
    by_prior: dict[str, Any] = {}
    for name in priors.names:
        prior: LatentPrior = priors.get(name)
        by_prior[name] = {}
        for temperature in TEMPERATURES:
            z = prior.sample(n, torch.Generator().manual_seed(seed), temperature)
            by_prior[name][f"T={temperature}"] = judge.judge(decode_all(model, z))
    metrics: dict[str, Any] = {"samples": n, "priors": by_prior, "reference": judge.reference}
    if priors.classes and judge.classifier is not None:
        per_class = max(1, n // 25)  # 200 per digit for the default 5,000
        metrics["class_sampling_agreement"] = judge.agreement(
            model, priors.classes, seed, per_class
        )
    return metrics


def write_pictures(
    model: Generative, pixels: Tensor, priors: Priors, out_dir: Path, seed: int = 0
) -> list[Path]:
    """reconstructions.png (originals on odd rows) and samples-<prior>.png (8×8, T = 1)."""
    with torch.no_grad():
        # Rows of up to 8 originals, each followed by their reconstructions; at most 4 pairs.
        cols = min(8, len(pixels))
        count = min(32, len(pixels) // cols * cols)
        originals = to_unit(pixels[:count])  # [count,C,H,W]
        recon = model.decode(model.encode(originals)[0])
        shape = (count // cols, cols, *originals.shape[1:])
        paired = torch.stack([originals.view(shape), recon.view(shape)], 1)
        written = [
            save_grid(
                paired.reshape(2 * count, *originals.shape[1:]),
                out_dir / "reconstructions.png",
                cols,
            )
        ]
        for name in priors.names:
            z = priors.get(name).sample(64, torch.Generator().manual_seed(seed))
            written.append(save_grid(model.decode(z), out_dir / f"samples-{name}.png", cols=8))
        # Four strips of 10 steps, each between two val pictures' posterior means (slerp-free:
        # straight lines, what /interpolate?method=linear draws).
        ends = model.encode(to_unit(pixels[: min(8, len(pixels)) // 2 * 2]))[0]  # [2S,D]
        steps = torch.linspace(0, 1, 10)[:, None]
        strips = [
            model.decode((1 - steps) * ends[i] + steps * ends[i + 1])
            for i in range(0, len(ends), 2)
        ]
        if strips:
            written.append(save_grid(torch.cat(strips), out_dir / "interpolation.png", cols=10))
    return written


def main(argv: list[str] | None = None) -> None:
    from contract.artifact import load_artifact  # only the CLI reads artifacts

    parser = argparse.ArgumentParser(
        prog="vae-evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("artifact", type=Path, help="the .pt artifact to evaluate")
    add_judging_arguments(parser)
    parser.add_argument(
        "--split", default="val-5k", metavar="SPLIT", help="split to score (default: %(default)s)"
    )
    parser.add_argument(
        "--train-split",
        default="train-5k",
        metavar="SPLIT",
        help="training split, for the samples' nearest-digit distance (default: %(default)s)",
    )
    parser.add_argument(
        "--k", type=int, default=1000, metavar="K", help="importance samples (default: %(default)s)"
    )
    parser.add_argument(
        "--limit", type=int, metavar="N", help="evaluate only the first N images (default: all)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/eval"),
        metavar="DIR",
        help="report.json and pictures go here (default: %(default)s)",
    )
    parser.add_argument(
        "--store-reference",
        type=Path,
        metavar="PATH",
        help="write the artifact here with the measured NLL quantiles (format 3), for /score",
    )
    args = parser.parse_args(argv)
    artifact = load_artifact(args.artifact)
    model, metadata = artifact.module, artifact.metadata
    shape, background = metadata.image_shape, metadata.background
    pixels = read_labelled(args.data_dir, args.split, shape, background).pixels[: args.limit]
    train = read_labelled(args.data_dir, args.train_split, shape, background)
    started = time.monotonic()
    report: dict[str, Any] = {"artifact": str(args.artifact), "split": args.split}
    nll, neg_elbo = score_all(model, pixels, metadata.input_transform, args.k, args.seed)
    report["likelihood"] = summarise_scores(
        nll, neg_elbo, metadata.input_transform, args.k, pixels[0].numel()
    )
    if args.store_reference is not None:
        from contract.artifact import save_artifact

        stored = metadata.as_json()
        stored["score_reference"] = {
            "k": args.k,
            "split": args.split,
            "quantiles": score_quantiles(nll),
        }
        save_artifact(model, stored, args.store_reference, artifact.priors)
        report["stored_reference"] = str(args.store_reference)
    report["shifted"] = shift_metrics(
        model,
        pixels,
        metadata.input_transform,
        min(args.k, 100),
        args.seed,
        shift_fill(shape, background),
    )
    judge = judge_for(train, pixels, args.samples, args.classifier_dir)
    report["samples"] = sample_metrics(model, judge, artifact.priors, seed=args.seed)
    pictures = write_pictures(model, pixels, artifact.priors, args.out, args.seed)
    report["pictures"] = [str(p) for p in pictures]
    report["seconds"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))  # noqa: T201 - the report is this command's output


if __name__ == "__main__":
    main()
