"""A vae-train checkpoint → an artifact: fit the priors, evaluate on val, build the metadata,
write the file (`vae-export CHECKPOINT --output FILE`, and `vae-train --export FILE` after
training). It reads the checkpoint and writes only the artifact, so it can be run again.

    export_checkpoint ─ the best weights of the checkpoint, on --device (a GPU when there is one)
                      ─ fit_artifact_priors (model.priors.choice)
                      ─ evaluate_run        (val likelihood, shifted val, reconstructions, samples)
                      ─ run_metadata        (what docs/artifact.md asks of format 3)
                      ─ save_artifact       (contract.artifact)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from contract.artifact import save_artifact
from contract.containers import TORCHSCRIPT
from contract.devices import resolve_device
from contract.images import parse_colour
from contract.priors import Priors
from model.config import TrainConfig
from model.data import LabelledSplit, read_labelled, shift_fill
from model.evaluation.device import OnDevice
from model.evaluation.evaluate import (
    sample_metrics,
    score_all,
    score_quantiles,
    shift_metrics,
    summarise_scores,
    write_pictures,
)
from model.evaluation.judging import DEFAULT_CLASSIFIER_DIR, SampleJudge, judge_for
from model.networks import VAE
from model.priors.choice import fit_artifact_priors
from model.provenance import code_version, utc_now
from model.run_state import RunState


@dataclass(frozen=True)
class ExportOptions:
    """How the run is evaluated and described: vae-export's flags (and vae-train's)."""

    path: Path
    command: str
    k: int = 1000
    description: str = ""
    credits: tuple[str, ...] = ()
    device: str = "auto"  # where the evaluation runs
    classifier_dir: Path = DEFAULT_CLASSIFIER_DIR
    data_dir: str | None = None  # the checkpoint's own when None
    container: str = TORCHSCRIPT  # contract.containers
    name: str = ""  # the checkpoint's own when empty
    prior_candidates: str = ""  # K to choose among; the checkpoint's own when empty
    class_components: int | None = None  # each class mixture's K; the checkpoint's own when None


def dataset_name(data_dir: str | Path, split: str) -> str:
    """`mnist` for IDX files (what the project ships), else the image folder's name."""
    folder = Path(data_dir)
    return folder.resolve().name if (folder / split).is_dir() else "mnist"


def label_counts(split: LabelledSplit) -> dict[str, int] | None:
    """Each class name and its number of pictures; None for an unlabelled split."""
    if not split.labelled:
        return None
    values, counts = split.labels.unique(return_counts=True)
    return {split.names[int(v)]: int(c) for v, c in zip(values, counts, strict=True)}


def evaluate_run(
    vae: Any,
    config: TrainConfig,
    judge: SampleJudge,
    val: LabelledSplit,
    priors: Priors,
    k: int,
) -> tuple[dict[str, Any], list[float]]:
    """The val figures of the metadata, and the quantiles of the val NLLs for /score."""
    transform = config.model.input_transform
    fill = shift_fill(config.model.image_shape, parse_colour(config.background))
    with torch.no_grad():
        nll, neg_elbo = score_all(vae, val.pixels, transform, k, seed=config.seed)
        metrics: dict[str, Any] = {
            "split": config.val_split,
            **summarise_scores(nll, neg_elbo, transform, k, val.pixels[0].numel()),
            "shifted": shift_metrics(
                vae,
                val.pixels,
                transform,
                k=min(k, 100),
                seed=config.seed,
                fill=fill,
            ),
            "reconstruction": judge.reconstruction_figures(vae, val),
            **sample_metrics(vae, judge, priors, seed=config.seed),
        }
    return metrics, score_quantiles(nll)


def _median(values: list[float]) -> float | None:
    return round(sorted(values)[len(values) // 2], 2) if values else None


def run_metadata(
    config: TrainConfig,
    state: RunState,
    options: ExportOptions,
    train: LabelledSplit,
    metrics: dict[str, Any],
    quantiles: list[float],
    prior_info: dict[str, Any],
) -> dict[str, Any]:
    """The artifact's metadata.json (format 3), before the format version is stamped."""
    dataset = dataset_name(config.data_dir, config.train_split)
    likelihood = config.model.likelihood
    variance = config.model.decoder_variance if likelihood == "gaussian" else None
    return {
        "name": config.name,
        "description": options.description or f"Convolutional VAE, {likelihood} decoder, {dataset}",
        "image_shape": list(config.model.image_shape),
        "latent_dim": config.model.latent_dim,
        "latent_shape": list(config.model.latent_grid) if config.model.latent_grid else None,
        "likelihood": likelihood,
        "input_transform": config.model.input_transform,
        "decoder_variance": variance,
        "background": list(parse_colour(config.background)),
        "credits": list(options.credits),
        "dataset": {
            "name": dataset,
            "split": config.train_split,
            "size": config.limit or len(train.pixels),
            "labels": label_counts(train),
        },
        "metrics": metrics,
        "score_reference": {"k": metrics["k"], "split": config.val_split, "quantiles": quantiles},
        "training": {
            "command": options.command,
            "epochs": state.epoch,
            "best_epoch": state.best_epoch,
            "seconds": round(state.seconds, 1),
            "seconds_per_epoch": _median([row["seconds"] for row in state.history]),
            "precision": config.precision,
            "rollbacks": [vars(r) for r in state.rollbacks],
            "skipped_steps": state.skipped_steps,
            "seed": config.seed,
            "device": state.device,
            "processes": state.processes,
            "code_version": code_version(),
            "config": config.to_dict(),
        },
        "created": utc_now(),
        "torch_version": torch.__version__,
        "priors": prior_info,
    }


def load_checkpoint(path: Path) -> tuple[VAE, TrainConfig, RunState]:
    """The best weights of a vae-train checkpoint, as an eval-mode VAE on the CPU, with the
    run's config and state; ValueError when `path` is not such a checkpoint."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many kinds for a file that is not a checkpoint
        raise ValueError(f"{path}: not a checkpoint torch can read ({error})") from None
    if not isinstance(checkpoint, dict) or not {"config", "best_model", "state"} <= set(checkpoint):
        raise ValueError(f"{path}: not a vae-train checkpoint (no config, best_model and state)")
    config = TrainConfig.from_dict(checkpoint["config"])
    vae = VAE(config.model)
    vae.load_state_dict(checkpoint["best_model"])
    return vae.eval(), config, RunState.from_dict(checkpoint["state"])


def export_checkpoint(checkpoint: Path, options: ExportOptions) -> Path:
    """Fit priors, evaluate the checkpoint's best model on the val split and write it with its
    full metadata to `options.path`."""
    vae, config, state = load_checkpoint(checkpoint)
    if options.data_dir is not None:
        config = dataclasses.replace(config, data_dir=options.data_dir)
    if options.name:
        config = dataclasses.replace(config, name=options.name)
    if options.prior_candidates:
        config = dataclasses.replace(config, prior_candidates=options.prior_candidates)
    if options.class_components is not None:
        config = dataclasses.replace(config, class_components=options.class_components)
    device = resolve_device(options.device)
    scored = OnDevice(vae.to(device), device)  # evaluation on the device, CPU tensors around it
    shape, background = config.model.image_shape, parse_colour(config.background)
    train = read_labelled(config.data_dir, config.train_split, shape, background)
    val = read_labelled(config.data_dir, config.val_split, shape, background)
    out_dir = Path(config.out_dir)
    judge = judge_for(train, val.pixels, config.eval_samples, options.classifier_dir)
    priors, prior_info = fit_artifact_priors(
        scored,
        judge,
        train,
        val.pixels,
        config.train_split,
        tuple(int(k) for k in config.prior_candidates.split(",")),
        config.class_components,
        tuple(config.prior_sources.split(",")),  # type: ignore[arg-type]
        seed=config.seed,
    )
    metrics, quantiles = evaluate_run(scored, config, judge, val, priors, options.k)
    metrics["device"] = str(device)
    write_pictures(scored, val.pixels, priors, out_dir, seed=config.seed)
    metadata = run_metadata(config, state, options, train, metrics, quantiles, prior_info)
    target = save_artifact(vae.cpu(), metadata, options.path, priors, options.container)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return target
