"""Evaluate a VAE (eager or an exported artifact): negative ELBO, IWAE NLL, bits/dim, samples.

    python -m model.evaluate weights/mnist-bernoulli.pt --data-dir ../shared/data/mnist \
        --k 1000 --out runs/eval-bernoulli
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

from model.classifier import DigitClassifier, load_or_train_classifier
from model.data import apply_transform, encoder_input, load_split, to_unit
from model.images import save_grid
from model.latents import sample_class
from model.objectives import Scorable, bits_per_dim, importance_weighted_nll
from model.quality import classify, frechet_distance, mnist_score


class Generative(Scorable, Protocol):
    def decode(self, z: Tensor) -> Tensor: ...


@torch.no_grad()
def likelihood_metrics(
    model: Scorable, pixels: Tensor, transform: str, k: int, seed: int = 0, batch_images: int = 20
) -> dict[str, Any]:
    """Mean negative ELBO and IWAE NLL (nats per image), plus bits/dim when dequantized."""
    generator = torch.Generator().manual_seed(seed)
    nll, neg_elbo = [], []
    for start in tqdm(range(0, len(pixels), batch_images), desc=f"IWAE k={k}", leave=False):
        x = apply_transform(pixels[start : start + batch_images], transform, generator)
        batch_nll, batch_elbo = importance_weighted_nll(
            model, encoder_input(x, transform), x, k=k, generator=generator
        )
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
def sample_metrics(
    model: Generative,
    classifier: DigitClassifier,
    reference: Tensor,
    latent_dim: int,
    class_latents: dict[str, Any] | None,
    n: int = 5000,
    seed: int = 0,
) -> dict[str, Any]:
    """Fréchet distance and MNIST score of n prior samples (decoder means) vs `reference`."""
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn((n, latent_dim), generator=generator)
    samples = torch.cat([model.decode(z[i : i + 500]) for i in range(0, n, 500)])
    sample_features, sample_probs = classify(classifier, samples)
    reference_features, _ = classify(classifier, to_unit(reference))
    metrics: dict[str, Any] = {
        "samples": n,
        "frechet_distance": frechet_distance(sample_features, reference_features),
        "mnist_score": mnist_score(sample_probs),
    }
    if class_latents:
        # How often the classifier agrees with the digit asked of /sample?digit=.
        hits = 0
        for label in range(10):
            decoded = model.decode(sample_class(class_latents, label, 100, generator))
            hits += int((classify(classifier, decoded)[1].argmax(1) == label).sum())
        metrics["class_sampling_agreement"] = hits / 1000
    return metrics


@torch.no_grad()
def reference_metrics(classifier: DigitClassifier, train: Tensor, val: Tensor) -> dict[str, float]:
    """What real data scores: the floor for the Fréchet distance, the ceiling for the score."""
    train_features, _ = classify(classifier, to_unit(train))
    val_features, val_probs = classify(classifier, to_unit(val))
    return {
        "frechet_distance_train_vs_val": frechet_distance(train_features, val_features),
        "mnist_score_val": mnist_score(val_probs),
    }


def write_pictures(
    model: Generative, pixels: Tensor, latent_dim: int, out_dir: Path, seed: int = 0
) -> list[Path]:
    """reconstructions.png (originals on odd rows) and samples.png (8×8 prior samples)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        originals = to_unit(pixels[:32])
        recon = model.decode(model.encode(originals)[0])
        paired = torch.stack([originals.view(4, 8, 1, 28, 28), recon.view(4, 8, 1, 28, 28)], 1)
        samples = model.decode(torch.randn((64, latent_dim), generator=generator))
    return [
        save_grid(paired.reshape(64, 1, 28, 28), out_dir / "reconstructions.png", cols=8),
        save_grid(samples, out_dir / "samples.png", cols=8),
    ]


def main(argv: list[str] | None = None) -> None:
    from model.export import load_artifact  # only the CLI reads artifacts

    parser = argparse.ArgumentParser(
        prog="python -m model.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--split", default="val-5k")
    parser.add_argument("--k", type=int, default=1000, help="importance samples (default 1000)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N images")
    parser.add_argument(
        "--classifier", default="runs/classifier.pt", help="cache of the classifier"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/eval"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    model, metadata = load_artifact(args.artifact)
    pixels, _ = load_split(args.data_dir, args.split)
    pixels = pixels[: args.limit]
    started = time.monotonic()
    report: dict[str, Any] = {"artifact": str(args.artifact), "split": args.split}
    report["likelihood"] = likelihood_metrics(
        model, pixels, metadata["input_transform"], args.k, args.seed
    )
    classifier = load_or_train_classifier(args.classifier, args.data_dir)
    report["samples"] = sample_metrics(
        model,
        classifier,
        pixels,
        metadata["latent_dim"],
        metadata.get("class_latents"),
        seed=args.seed,
    )
    report["pictures"] = [
        str(p) for p in write_pictures(model, pixels, metadata["latent_dim"], args.out, args.seed)
    ]
    report["seconds"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))  # noqa: T201 - the report is this command's output


if __name__ == "__main__":
    main()
