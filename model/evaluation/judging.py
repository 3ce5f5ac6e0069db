"""Which classifier judges a run's samples, and the judge itself.

The rule, in one place: a labelled train split (two classes or more, every picture labelled)
trains its own category classifier, cached under `--classifier-dir` by a fingerprint of that
split's pixels, labels and shape. So an MNIST run and a run on your own folder never judge
each other's samples, and re-running on the same data reuses the classifier. Without labels,
samples are judged in pixel space (pooled to at most 1,024 values per picture), with no class
score.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from contract.priors import GaussianMixture
from contract.transforms import to_unit
from model.data import LabelledSplit
from model.evaluation.classifier import CategoryClassifier, accuracy, train_classifier
from model.evaluation.quality import classify, frechet_distance, mnist_score

DEFAULT_CLASSIFIER_DIR = Path("runs/classifiers")
# Pixel-space features are pooled to at most this many values: a 64×64×3 picture has 12,288,
# and a Fréchet distance needs the eigenvalues of a square matrix of that side.
MAX_PIXEL_FEATURES = 1024


class Decodes(Protocol):
    def decode(self, z: Tensor) -> Tensor: ...


def classifier_for(
    train: LabelledSplit, cache_dir: Path = DEFAULT_CLASSIFIER_DIR, epochs: int = 15
) -> CategoryClassifier | None:
    """The run's own classifier (trained and cached on first use), or None without labels."""
    if not train.labelled:
        return None
    classes = int(train.labels.max()) + 1
    path = cache_dir / f"classifier-{train.fingerprint()}.pt"
    shape = tuple(train.pixels.shape[1:])
    model = CategoryClassifier(shape, classes)  # type: ignore[arg-type]
    if path.exists():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval()
    model = train_classifier(train.pixels, train.labels, classes, epochs=epochs)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return model


@torch.no_grad()
def decode_all(model: Decodes, z: Tensor, batch_size: int = 500) -> Tensor:
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


def pixel_features(images: Tensor) -> Tensor:
    """Images [N,C,H,W] → at most MAX_PIXEL_FEATURES values each, area-averaged, float64."""
    _, channels, height, width = images.shape
    while channels * height * width > MAX_PIXEL_FEATURES:
        height, width = max(1, height // 2), max(1, width // 2)
    pooled = torch.nn.functional.adaptive_avg_pool2d(images, (height, width))
    return pooled.flatten(1).double()


class SampleJudge:
    """Scores decoded samples against real images with the run's classifier (its FID).

    Without a classifier the features are the (pooled) pixels themselves: the Fréchet distance
    is then a pixel-space one, and there is no class score.
    """

    def __init__(
        self,
        classifier: CategoryClassifier | None,
        train_pixels: Tensor,
        val_pixels: Tensor,
        samples: int = 5000,
        names: dict[int, str] | None = None,
    ) -> None:
        self.classifier, self.samples = classifier, samples
        self.index_of = {name: index for index, name in (names or {}).items()}
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
            return pixel_features(images), None
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
        model: Decodes,
        classes: dict[str, GaussianMixture],
        seed: int,
        per_class: int = 200,
    ) -> dict[str, Any]:
        """How often the classifier reads the class that /sample?label= was asked for."""
        generator = torch.Generator().manual_seed(seed)
        per_label = {}
        assert self.classifier is not None, "agreement needs a classifier"
        for label, mixture in sorted(classes.items()):
            decoded = model.decode(mixture.sample(per_class, generator))
            predicted = classify(self.classifier, decoded)[1].argmax(1)
            wanted = self.index_of.get(label, int(label) if label.isdigit() else -1)
            per_label[label] = float((predicted == wanted).float().mean())
        mean = sum(per_label.values()) / max(1, len(per_label))
        # "per_digit": the key format 2 artifacts and the page read; it holds any labels.
        return {"mean": mean, "per_digit": per_label, "samples_per_digit": per_class}

    def reconstruction_figures(
        self, model: Any, val: LabelledSplit, limit: int = 1000
    ) -> dict[str, float]:
        """PSNR of decode(mean(x)) against x, and how often the classifier reads the same class
        in the reconstruction as in an original it reads correctly."""
        pixels, labels = val.pixels[:limit], val.labels[:limit]
        with torch.no_grad():
            originals = to_unit(pixels)
            recon = torch.cat(
                [
                    model.decode(model.encode(originals[i : i + 200])[0])
                    for i in range(0, len(originals), 200)
                ]
            )
        mse = (recon - originals).pow(2).flatten(1).mean(1).clamp_min(1e-10)  # [N]
        figures = {
            "images": float(len(pixels)),
            "psnr_db": float((10 * torch.log10(1.0 / mse)).mean()),
            "psnr_db_of_mean_mse": float(10 * torch.log10(1.0 / mse.mean())),
        }
        if self.classifier is not None and val.labelled:
            read_original = classify(self.classifier, originals)[1].argmax(1)
            read_recon = classify(self.classifier, recon)[1].argmax(1)
            correct = read_original == labels
            figures["classifier_val_accuracy"] = accuracy(self.classifier, pixels, labels)
            figures["class_kept"] = float(
                (read_recon[correct] == read_original[correct]).float().mean()
            )
        return figures


def add_judging_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every CLI that judges samples shares: data, classifier cache, samples, seed."""
    parser.add_argument(
        "--data-dir", required=True, metavar="DIR", help="IDX files or image folders of the splits"
    )
    parser.add_argument(
        "--classifier-dir",
        type=Path,
        default=DEFAULT_CLASSIFIER_DIR,
        metavar="DIR",
        help="cache of category classifiers, one per labelled train split, trained on first "
        "use (default: %(default)s)",
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


def judge_for(
    train: LabelledSplit,
    val_pixels: Tensor,
    samples: int,
    cache_dir: Path = DEFAULT_CLASSIFIER_DIR,
) -> SampleJudge:
    """The judge of a run on `train`: its own classifier when labelled (the rule above)."""
    classifier = classifier_for(train, cache_dir)
    return SampleJudge(classifier, train.pixels, val_pixels, samples, train.names)
