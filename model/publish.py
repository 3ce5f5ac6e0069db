"""After training: fit the priors, evaluate on the validation split, write the artifact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from contract.artifact import save_artifact
from model.classifier import accuracy, load_or_train_classifier
from model.config import TrainConfig
from model.data import load_split
from model.evaluate import SampleJudge, likelihood_metrics, sample_metrics, write_pictures
from model.fit_prior import fit_artifact_priors
from model.networks import VAE
from model.provenance import code_version, utc_now


def has_digit_labels(labels: torch.Tensor) -> bool:
    """Labels the 10-way digit classifier can learn: every image labelled 0…9, two classes+."""
    return (
        bool(labels.numel())
        and int(labels.min()) >= 0
        and int(labels.max()) <= 9
        and (len(labels.unique()) >= 2)
    )


def dataset_name(data_dir: str | Path, split: str) -> str:
    """`mnist` for IDX files (what the project ships), else the image folder's name."""
    folder = Path(data_dir)
    return folder.resolve().name if (folder / split).is_dir() else "mnist"


def publish(
    vae: VAE,
    config: TrainConfig,
    state: dict[str, Any],
    command: str,
    path: Path,
    k: int,
    description: str,
    device: str,
    world_size: int,
    classifier_path: Path | None = None,
) -> Path:
    """Fit priors, evaluate `vae` on the val split and export it with its full metadata."""
    shape = config.model.image_shape
    train_pixels, train_labels = load_split(config.data_dir, config.train_split, shape)
    val_pixels, val_labels = load_split(config.data_dir, config.val_split, shape)
    out_dir = Path(config.out_dir)
    dataset = dataset_name(config.data_dir, config.train_split)
    classifier = None
    if has_digit_labels(train_labels) and shape == (1, 28, 28):
        # MNIST's classifier is shared by runs on the same data; another dataset's is its own.
        cache = (
            out_dir.parent / "classifier.pt" if dataset == "mnist" else out_dir / "classifier.pt"
        )
        classifier = load_or_train_classifier(
            classifier_path or cache, config.data_dir, config.train_split
        )
    judge = SampleJudge(classifier, train_pixels, val_pixels, config.eval_samples)
    priors, prior_info = fit_artifact_priors(
        vae,
        judge,
        train_pixels,
        train_labels,
        val_pixels,
        config.train_split,
        tuple(int(k) for k in config.prior_candidates.split(",")),
        config.class_components,
        tuple(config.prior_sources.split(",")),  # type: ignore[arg-type]
        seed=config.seed,
    )
    with torch.no_grad():
        metrics: dict[str, Any] = {
            "split": config.val_split,
            **likelihood_metrics(
                vae, val_pixels, config.model.input_transform, k, seed=config.seed
            ),
            **sample_metrics(vae, judge, priors, seed=config.seed),
        }
        if classifier is not None:
            metrics["classifier_val_accuracy"] = accuracy(classifier, val_pixels, val_labels)
    write_pictures(vae, val_pixels, priors, out_dir, seed=config.seed)
    channels, height, width = config.model.image_shape
    metadata = {
        "name": config.name,
        "description": description
        or f"Convolutional VAE, {config.model.likelihood} decoder, {dataset}",
        "image_shape": [channels, height, width],
        "latent_dim": config.model.latent_dim,
        "likelihood": config.model.likelihood,
        "input_transform": config.model.input_transform,
        "dataset": {
            "name": dataset,
            "split": config.train_split,
            "size": config.limit or len(train_pixels),
        },
        "metrics": metrics,
        "training": {
            "command": command,
            "epochs": state["epoch"],
            "best_epoch": state["best_epoch"],
            "seconds": round(state["seconds"], 1),
            "rollbacks": state.get("rollbacks", []),
            "skipped_steps": state.get("skipped_steps", 0),
            "seed": config.seed,
            "device": device,
            "processes": world_size,
            "code_version": code_version(),
            "config": config.to_dict(),
        },
        "created": utc_now(),
        "torch_version": torch.__version__,
        "priors": prior_info,
    }
    target = save_artifact(vae, metadata, path, priors)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return target
