"""Evaluate a VAE (eager or an exported artifact): negative ELBO, IWAE NLL, bits/dim, samples.

vae-evaluate weights/mnist-bernoulli.pt --data-dir path/to/mnist --k 1000 --out runs/eval
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
from tqdm import tqdm

from contract.bounds import Scorable, bits_per_dim, score_images
from contract.priors import GaussianMixture, Prior, Priors
from contract.transforms import to_unit
from model.classifier import DigitClassifier, load_or_train_classifier
from model.data import load_split
from model.images import save_grid
from model.quality import classify, frechet_distance, mnist_score

TEMPERATURES = (1.0, 0.8)


class Generative(Scorable, Protocol):
    def decode(self, z: Tensor) -> Tensor: ...


@torch.no_grad()
def likelihood_metrics(
    model: Scorable, pixels: Tensor, transform: str, k: int, seed: int = 0, batch_images: int = 20
) -> dict[str, Any]:
    """Mean negative ELBO and IWAE NLL (nats per image), plus bits/dim when dequantized.

    One generator, seeded once, runs through the batches; the images of one batch go through
    contract.bounds.score_images exactly as /score sends them.
    """
    generator = torch.Generator().manual_seed(seed)
    nll, neg_elbo = [], []
    for start in tqdm(range(0, len(pixels), batch_images), desc=f"IWAE k={k}", leave=False):
        x = to_unit(pixels[start : start + batch_images])
        batch_nll, batch_elbo = score_images(model, x, transform, k, generator)
        nll.append(batch_nll)
        neg_elbo.append(batch_elbo)
    nll_all, elbo_all = torch.cat(nll), torch.cat(neg_elbo)
    metrics: dict[str, Any] = {
        "k": k,
        "transform": transform,
        "images": len(pixels),
        "neg_elbo": float(elbo_all.mean()),
        "nll": float(nll_all.mean()),
        "nll_stderr": float(nll_all.std() / math.sqrt(len(nll_all))),
    }
    if transform == "dequantize":
        pixels_per_image = pixels[0].numel()
        metrics["bits_per_dim"] = float(bits_per_dim(nll_all, pixels_per_image).mean())
        metrics["neg_elbo_bits_per_dim"] = float(bits_per_dim(elbo_all, pixels_per_image).mean())
    return metrics


@torch.no_grad()
def decode_all(model: Generative, z: Tensor, batch_size: int = 500) -> Tensor:
    return torch.cat([model.decode(z[i : i + batch_size]) for i in range(0, len(z), batch_size)])


@torch.no_grad()
def nearest_distance_median(images: Tensor, train_images: Tensor) -> float:
    """Median over `images` of the L2 pixel distance to the nearest training image ([0, 1])."""
    train = train_images.flatten(1)
    nearest = [
        torch.cdist(images[i : i + 500].flatten(1), train).min(1).values
        for i in range(0, len(images), 500)
    ]
    return float(torch.cat(nearest).median())


class SampleJudge:
    """Scores decoded samples against real images with the classifier (the FID of MNIST).

    Without a classifier (a dataset with no digit labels) the features are the pixels
    themselves: the Fréchet distance is then a pixel-space one, and there is no MNIST score.
    """

    def __init__(
        self,
        classifier: DigitClassifier | None,
        train_pixels: Tensor,
        val_pixels: Tensor,
        samples: int = 5000,
    ) -> None:
        self.classifier, self.samples = classifier, samples
        self.train_images = to_unit(train_pixels)
        val_images = to_unit(val_pixels)
        self.val_features, val_probs = self._read(val_images)
        train_features, _ = self._read(self.train_images)
        self.reference = {
            "frechet_distance_train_vs_val": frechet_distance(train_features, self.val_features),
            "nearest_train_median_val": nearest_distance_median(val_images, self.train_images),
        }
        if val_probs is not None:
            self.reference["mnist_score_val"] = mnist_score(val_probs)

    def _read(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        """(features, class probabilities or None) of images in [0, 1]."""
        if self.classifier is None:
            return images.flatten(1).double(), None
        return classify(self.classifier, images)

    def judge(self, samples: Tensor) -> dict[str, float]:
        features, probs = self._read(samples)
        figures = {
            "frechet_distance": frechet_distance(features, self.val_features),
            "nearest_train_median": nearest_distance_median(samples, self.train_images),
        }
        if probs is not None:
            figures["mnist_score"] = mnist_score(probs)
        return figures

    def agreement(
        self,
        model: Generative,
        classes: dict[str, GaussianMixture],
        seed: int,
        per_class: int = 200,
    ) -> dict[str, Any]:
        """How often the classifier reads the digit that /sample?digit= was asked for."""
        generator = torch.Generator().manual_seed(seed)
        per_digit = {}
        assert self.classifier is not None, "agreement needs a classifier"
        for label, mixture in sorted(classes.items()):
            decoded = model.decode(mixture.sample(per_class, generator))
            predicted = classify(self.classifier, decoded)[1].argmax(1)
            per_digit[label] = float((predicted == int(label)).float().mean())
        mean = sum(per_digit.values()) / max(1, len(per_digit))
        return {"mean": mean, "per_digit": per_digit, "samples_per_digit": per_class}


@torch.no_grad()
def sample_metrics(
    model: Generative, judge: SampleJudge, priors: Priors, seed: int = 0
) -> dict[str, Any]:
    """Fréchet distance, MNIST score and distance to the training set of `judge.samples`
    decoded samples, for each prior at each temperature, and the ?digit= agreement."""
    n = judge.samples
    by_prior: dict[str, Any] = {}
    for name in priors.names:
        prior: Prior = priors.get(name)
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
    return written


def add_judging_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every CLI that judges samples shares: data, classifier, sample count, seed."""
    parser.add_argument(
        "--data-dir", required=True, metavar="DIR", help="IDX folder with the splits"
    )
    parser.add_argument(
        "--classifier",
        default="runs/classifier.pt",
        metavar="PATH",
        help="cache of the digit classifier, trained on first use (default: %(default)s)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=5000,
        metavar="N",
        help="samples per prior to judge (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N", help="random seed (default: %(default)s)"
    )


def judge_from_args(
    args: argparse.Namespace, train_pixels: Tensor, val_pixels: Tensor
) -> SampleJudge:
    """The SampleJudge that add_judging_arguments' flags describe."""
    classifier = load_or_train_classifier(args.classifier, args.data_dir)
    return SampleJudge(classifier, train_pixels, val_pixels, args.samples)


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
    args = parser.parse_args(argv)
    artifact = load_artifact(args.artifact)
    model, metadata = artifact.module, artifact.metadata
    pixels, _ = load_split(args.data_dir, args.split)
    train_pixels, _ = load_split(args.data_dir, args.train_split)
    pixels = pixels[: args.limit]
    started = time.monotonic()
    report: dict[str, Any] = {"artifact": str(args.artifact), "split": args.split}
    report["likelihood"] = likelihood_metrics(
        model, pixels, metadata.input_transform, args.k, args.seed
    )
    judge = judge_from_args(args, train_pixels, pixels)
    report["samples"] = sample_metrics(model, judge, artifact.priors, seed=args.seed)
    pictures = write_pictures(model, pixels, artifact.priors, args.out, args.seed)
    report["pictures"] = [str(p) for p in pictures]
    report["seconds"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))  # noqa: T201 - the report is this command's output


if __name__ == "__main__":
    main()
