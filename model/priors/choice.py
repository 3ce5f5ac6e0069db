"""Choose and fit the latent priors of an artifact, and write it as format 2.

    vae-fit-prior weights/mnist-bernoulli.pt --data-dir DATA --out weights/mnist-bernoulli.pt

For each candidate K (and for codes taken as encoder means or as draws z ~ q(z|x)) it fits a
full-covariance mixture on the training split, then measures on the validation split: the
mean log-density of the val codes under the mixture, and the quality of 5,000 decoded samples
(Fréchet distance, MNIST score, and the median distance to the nearest training digit, which
catches a prior that only replays training codes). Among the candidates whose samples stay at
least 0.8× as far from the training set as real val digits do, and whose Fréchet distance is
within 10 % of the best, the one with the highest MNIST score is kept. `model.train --export`
runs the same steps after training.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from contract.artifact import load_artifact, save_artifact
from contract.priors import Priors
from model.data import LabelledSplit, read_labelled
from model.evaluation.evaluate import sample_metrics, write_pictures
from model.evaluation.judging import SampleJudge, add_judging_arguments, decode_all, judge_for
from model.priors.mixtures import Codes, CodeSource, encode_all, fit_mixture, fit_priors
from model.progress import progress

DEFAULT_CANDIDATES = (1, 10, 20, 50)
DEFAULT_CLASS_COMPONENTS = 3
# Samples must not be copies: their median distance to the nearest training digit must be at
# least this fraction of the same figure for held-out digits.
NOVELTY_RATIO = 0.8
FD_MARGIN = 1.1


@dataclass(frozen=True)
class PriorChoice:
    components: int
    source: CodeSource
    table: list[dict[str, Any]]


@torch.no_grad()
def choose_components(
    model: Any,
    judge: SampleJudge,
    train_codes: Codes,
    val_codes: Codes,
    candidates: tuple[int, ...],
    sources: tuple[CodeSource, ...] = ("means",),
    seed: int = 0,
) -> PriorChoice:
    """Fit each (source, K) on train codes and score it on val; returns the table and choice."""
    generator = torch.Generator().manual_seed(seed)
    floor = NOVELTY_RATIO * judge.reference["nearest_train_median_val"]
    table = []
    for source in sources:
        train_points = train_codes.points(source, generator)
        val_points = val_codes.points(source, generator)
        for k in progress(candidates, f"prior K ({source})"):
            started = time.monotonic()
            mixture = fit_mixture(train_points, k, seed)
            fit_seconds = time.monotonic() - started
            z = mixture.sample(judge.samples, torch.Generator().manual_seed(seed))
            row: dict[str, Any] = {
                "source": source,
                "components": k,
                "fit_seconds": round(fit_seconds, 2),
                "val_log_density": float(mixture.log_prob(val_points).mean()),
                **judge.judge(decode_all(model, z)),
            }
            row["novel"] = row["nearest_train_median"] >= floor
            table.append(row)
    return PriorChoice(*_choose(table), table)


def _choose(table: list[dict[str, Any]]) -> tuple[int, CodeSource]:
    """Among novel candidates within FD_MARGIN of the best Fréchet distance, the one with the
    highest MNIST score: both sample-quality figures count, and a near-tie in one is settled
    by the other. (Val log-densities are reported, not compared: fitted to means and to draws,
    they score different points.)"""
    eligible = [row for row in table if row["novel"]] or table
    best_distance = min(row["frechet_distance"] for row in eligible)
    close = [row for row in eligible if row["frechet_distance"] <= FD_MARGIN * best_distance]
    # Without a classifier there is no MNIST score: the lowest Fréchet distance wins.
    chosen = max(close, key=lambda row: (row.get("mnist_score", 0.0), -row["frechet_distance"]))
    return chosen["components"], chosen["source"]


def fitted_prior_metadata(
    choice: PriorChoice,
    class_components: int,
    train_split: str,
    fit_seconds: float,
    class_labels: list[str],
) -> dict[str, Any]:
    """The metadata `priors` entry that describes what priors.pt holds: the fitted mixture, and
    the per-class ones only when the training split had labels (an unlabelled export declares
    no `class` prior, since it writes none)."""
    codes = "encoder means" if choice.source == "means" else "draws z ~ q(z|x)"
    info: dict[str, Any] = {
        "fitted": {
            "components": choice.components,
            "covariance": "full",
            "fitted_on": f"{codes} of {train_split}",
            "fit_seconds": round(fit_seconds, 2),
            "selection": {
                "rule": f"highest class score within {FD_MARGIN}x of the lowest val Fréchet "
                f"distance, among samples at least {NOVELTY_RATIO}x as far from train as val "
                "pictures are",
                "table": choice.table,
            },
        },
    }
    if class_labels:
        info["class"] = {
            "components": class_components,
            "covariance": "full",
            "fitted_on": f"{codes} of each class of {train_split}",
            "labels": class_labels,
        }
    return info


def fit_artifact_priors(
    model: Any,
    judge: SampleJudge,
    train: LabelledSplit,
    val_pixels: Tensor,
    train_split: str,
    candidates: tuple[int, ...] = DEFAULT_CANDIDATES,
    class_components: int = DEFAULT_CLASS_COMPONENTS,
    sources: tuple[CodeSource, ...] = ("means",),
    seed: int = 0,
) -> tuple[Priors, dict[str, Any]]:
    """Choose K, fit the fitted and class priors; returns them and their metadata entry.

    The pixels are uint8 [N,C,H,W] as load_split gives them; the caller has read them already
    (for the judge), so they are passed rather than read again."""
    codes = encode_all(model, train.pixels)  # once: the choice and the final fit share them
    choice = choose_components(
        model, judge, codes, encode_all(model, val_pixels), candidates, sources, seed
    )
    started = time.monotonic()
    priors = fit_priors(
        codes,
        train.labels,
        choice.components,
        class_components,
        choice.source,
        seed,
        train.names,
    )
    seconds = time.monotonic() - started
    info = fitted_prior_metadata(
        choice, class_components, train_split, seconds, sorted(priors.classes)
    )
    return priors, info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="vae-fit-prior",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("artifact", type=Path, help="artifact to read (format 1, 2 or 3)")
    add_judging_arguments(parser)
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="PATH",
        help="where to write the format-3 artifact",
    )
    parser.add_argument(
        "--train-split",
        default="train-5k",
        metavar="SPLIT",
        help="codes to fit (default: train-5k)",
    )
    parser.add_argument(
        "--val-split",
        default="val-5k",
        metavar="SPLIT",
        help="split that chooses K (default: val-5k)",
    )
    parser.add_argument(
        "--candidates",
        default=",".join(map(str, DEFAULT_CANDIDATES)),
        metavar="K,K,...",
        help="numbers of components to compare (default: %(default)s)",
    )
    parser.add_argument(
        "--sources",
        default="means,draws",
        metavar="SOURCE,...",
        help="codes to fit: means, draws, or means,draws to compare both (default: %(default)s)",
    )
    parser.add_argument(
        "--class-components",
        type=int,
        default=DEFAULT_CLASS_COMPONENTS,
        metavar="K",
        help="components of each per-class mixture for ?label= (default: %(default)s)",
    )
    parser.add_argument(
        "--pictures", type=Path, metavar="DIR", help="also write sample grids to this folder"
    )
    args = parser.parse_args(argv)
    artifact = load_artifact(args.artifact)
    shape, background = artifact.metadata.image_shape, artifact.metadata.background
    train = read_labelled(args.data_dir, args.train_split, shape, background)
    val_pixels = read_labelled(args.data_dir, args.val_split, shape, background).pixels
    judge = judge_for(train, val_pixels, args.samples, args.classifier_dir)
    sources = tuple(s.strip() for s in args.sources.split(","))
    unknown = sorted(set(sources) - {"means", "draws"})
    if unknown:
        parser.error(f"--sources: unknown {', '.join(unknown)} (choose means, draws or both)")
    priors, info = fit_artifact_priors(
        artifact.module,
        judge,
        train,
        val_pixels,
        args.train_split,
        tuple(int(k) for k in args.candidates.split(",")),
        args.class_components,
        sources,
        args.seed,
    )
    metadata = artifact.metadata.as_json()
    metadata.pop("class_latents", None)  # replaced by the class priors
    metadata["priors"] = info
    metadata["metrics"] = {
        **{k: v for k, v in metadata["metrics"].items() if k not in SUPERSEDED_METRICS},
        **sample_metrics(artifact.module, judge, priors, seed=args.seed),
    }
    save_artifact(artifact.module, metadata, args.out, priors)
    if args.pictures:
        write_pictures(artifact.module, val_pixels, priors, args.pictures, args.seed)
    summary = {
        "out": str(args.out),
        "chosen": info["fitted"]["components"],
        "table": info["fitted"]["selection"]["table"],
        "metrics": metadata["metrics"],
    }
    print(json.dumps(summary, indent=2))  # noqa: T201 - the report is this command's output


# Format-1 sample figures, measured with the standard prior only; the new ones replace them.
SUPERSEDED_METRICS = (
    "frechet_distance",
    "mnist_score",
    "class_sampling_agreement",
    "frechet_distance_train_vs_val",
    "mnist_score_val",
)


if __name__ == "__main__":
    main()
