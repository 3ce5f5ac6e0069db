"""After training: evaluate on the validation split, gather metadata, write the artifact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from model.classifier import accuracy, load_or_train_classifier
from model.config import TrainConfig
from model.data import load_split
from model.evaluate import likelihood_metrics, reference_metrics, sample_metrics, write_pictures
from model.export import code_version, save_artifact, utc_now
from model.latents import class_latent_stats
from model.networks import VAE


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
    """Evaluate `vae` on the val split and export it with the full metadata of DESIGN.md."""
    train_pixels, train_labels = load_split(config.data_dir, config.train_split)
    val_pixels, val_labels = load_split(config.data_dir, config.val_split)
    out_dir = Path(config.out_dir)
    classifier = load_or_train_classifier(
        classifier_path or out_dir.parent / "classifier.pt", config.data_dir
    )
    class_latents = class_latent_stats(vae, train_pixels, train_labels)
    with torch.no_grad():
        metrics: dict[str, Any] = {
            "split": config.val_split,
            **likelihood_metrics(
                vae, val_pixels, config.model.input_transform, k, seed=config.seed
            ),
            **sample_metrics(
                vae,
                classifier,
                val_pixels,
                config.model.latent_dim,
                class_latents,
                seed=config.seed,
            ),
            **reference_metrics(classifier, train_pixels, val_pixels),
            "classifier_val_accuracy": accuracy(classifier, val_pixels, val_labels),
        }
    write_pictures(vae, val_pixels, config.model.latent_dim, out_dir, seed=config.seed)
    channels, height, width = config.model.image_shape
    metadata = {
        "name": config.name,
        "description": description
        or f"Convolutional VAE, {config.model.likelihood} decoder, MNIST",
        "image_shape": [channels, height, width],
        "latent_dim": config.model.latent_dim,
        "likelihood": config.model.likelihood,
        "input_transform": config.model.input_transform,
        "dataset": {
            "name": "mnist",
            "split": config.train_split,
            "size": config.limit or len(train_pixels),
        },
        "metrics": metrics,
        "training": {
            "command": command,
            "epochs": state["epoch"],
            "best_epoch": state["best_epoch"],
            "seconds": round(state["seconds"], 1),
            "seed": config.seed,
            "device": device,
            "processes": world_size,
            "code_version": code_version(),
            "config": config.to_dict(),
        },
        "created": utc_now(),
        "torch_version": torch.__version__,
        "class_latents": class_latents,
    }
    target = save_artifact(vae, metadata, path)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return target
