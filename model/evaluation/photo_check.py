"""How well do photos of handwriting encode, with and without MNIST-style preprocessing?

    vae-photo-check --weights weights/mnist-bernoulli.pt --data-dir DIR --classifier-dir DIR

Each of the first N val digits is turned into a synthetic photo (model.evaluation.photos) and
read the way the service reads uploads (contract.images), with `preprocess=none` (resize only:
the service before preprocessing existed) and `preprocess=mnist`. It prints the median NLL of
the clean digit and of each reading, and how often the project's classifier names the right
digit, on the input and on its reconstruction.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from contract.artifact import load_artifact
from contract.bounds import score_images
from contract.images import Preprocess, image_to_pixels
from model.data import load_split, read_labelled
from model.evaluation.classifier import CategoryClassifier
from model.evaluation.judging import DEFAULT_CLASSIFIER_DIR, classifier_for
from model.evaluation.photos import photo_of
from model.progress import progress


@dataclass(frozen=True)
class Reading:
    """One way of reading the photos: median NLL, and classifier accuracy on input and
    reconstruction."""

    name: str
    median_nll: float
    input_accuracy: float
    reconstruction_accuracy: float


def read_photos(photos: list[bytes], preprocess: Preprocess) -> Tensor:
    """The photos as the service would read them: [N,1,28,28] in [0, 1]."""
    return torch.stack(
        [
            image_to_pixels(Image.open(io.BytesIO(data)), (1, 28, 28), preprocess=preprocess)
            for data in photos
        ]
    )


@torch.no_grad()
def judge(
    name: str,
    x: Tensor,
    labels: Tensor,
    artifact_module: torch.jit.ScriptModule,
    transform: str,
    classifier: CategoryClassifier,
    k: int,
) -> Reading:
    """NLL (IWAE, k samples, seed 0) and classifier agreement for one batch x [N,1,28,28]."""
    nll, _ = score_images(artifact_module, x, transform, k, torch.Generator().manual_seed(0))
    mean, _ = artifact_module.encode(x)
    reconstruction = artifact_module.decode(mean)
    return Reading(
        name=name,
        median_nll=float(nll.median()),
        input_accuracy=float((classifier(x).argmax(1) == labels).float().mean()),
        reconstruction_accuracy=float(
            (classifier(reconstruction).argmax(1) == labels).float().mean()
        ),
    )


def check(
    weights: str,
    data_dir: str,
    classifier_dir: Path,
    count: int,
    k: int,
    split: str,
    train_split: str = "train-5k",
) -> list[Reading]:
    artifact = load_artifact(weights)
    transform = artifact.metadata.input_transform
    classifier = classifier_for(read_labelled(data_dir, train_split), classifier_dir)
    if classifier is None:
        raise ValueError(f"{data_dir}/{train_split} has no digit labels to train a classifier on")
    pixels, labels = load_split(data_dir, split)
    # Every class equally: the split may be sorted by label.
    order = torch.randperm(len(pixels), generator=torch.Generator().manual_seed(0))[:count]
    pixels, labels = pixels[order], labels[order]
    photos = [photo_of(pixels[i, 0].numpy(), seed=i) for i in progress(range(count), "photos")]
    clean = pixels.float() / 255.0
    module = artifact.module
    return [
        judge("clean 28x28 digit", clean, labels, module, transform, classifier, k),
        judge(
            "photo, preprocess=none",
            read_photos(photos, Preprocess.none),
            labels,
            module,
            transform,
            classifier,
            k,
        ),
        judge(
            "photo, preprocess=mnist",
            read_photos(photos, Preprocess.mnist),
            labels,
            module,
            transform,
            classifier,
            k,
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vae-photo-check", description=__doc__.split("\n")[0])
    parser.add_argument("--weights", required=True, metavar="FILE", help="artifact to score with")
    parser.add_argument("--data-dir", required=True, metavar="DIR", help="IDX folder (val split)")
    parser.add_argument(
        "--classifier-dir",
        type=Path,
        default=DEFAULT_CLASSIFIER_DIR,
        metavar="DIR",
        help="cache of category classifiers; the digits' is trained on train-5k first if "
        "missing (default: %(default)s)",
    )
    parser.add_argument("--split", default="val-5k", metavar="SPLIT", help="(default: %(default)s)")
    parser.add_argument(
        "--count", type=int, default=200, metavar="N", help="(default: %(default)s)"
    )
    parser.add_argument("--k", type=int, default=100, metavar="K", help="(default: %(default)s)")
    args = parser.parse_args(argv)
    readings = check(
        args.weights, args.data_dir, args.classifier_dir, args.count, args.k, args.split
    )
    print(f"{'input':<26} {'median NLL':>11} {'class. input':>13} {'class. recon':>13}")  # noqa: T201
    for reading in readings:
        print(  # noqa: T201
            f"{reading.name:<26} {reading.median_nll:>11.1f} "
            f"{reading.input_accuracy:>13.1%} {reading.reconstruction_accuracy:>13.1%}"
        )


if __name__ == "__main__":
    main()
