"""vae-train's flags: one per config field, described where the field is declared."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path

import torch

from model.config import ModelConfig, TrainConfig
from model.evaluation.judging import DEFAULT_CLASSIFIER_DIR

DESCRIPTION = """Train a VAE by maximising the ELBO, then fit its priors, evaluate and export it.

    vae-train --likelihood gaussian --data-dir DIR --export weights/mnist-gaussian.pt
    torchrun --nproc_per_node 2 -m model.train ...      # DistributedDataParallel
"""


_ARGUMENT_TYPES: dict[str, type] = {"int": int, "float": float, "str": str}


def _choices(config_class: type, name: str) -> list[str] | None:
    """The values of a Literal-typed field (likelihood, decoder variance, ...), else None."""
    hint = typing.get_type_hints(config_class)[name]
    return list(typing.get_args(hint)) if typing.get_origin(hint) is typing.Literal else None


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, argparse.Namespace]:
    """Flags mirror the config dataclasses one to one (`--latent-dim`, `--lr`, ...)."""
    parser = argparse.ArgumentParser(
        prog="vae-train",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    groups: dict[str, ModelConfig | TrainConfig] = {"model": ModelConfig(), "train": TrainConfig()}
    for group, defaults in groups.items():
        for spec in dataclasses.fields(defaults):
            if "help" not in spec.metadata:
                continue  # not a flag (the nested model config, the image shape)
            default = spec.default  # declared, not resolved: name and out_dir follow others
            # Annotations are strings here ("int | None", "Likelihood"): take the first type.
            annotation = str(spec.type).split("|")[0].strip()
            kind = _ARGUMENT_TYPES.get(annotation, str)
            parser.add_argument(
                f"--{spec.name.replace('_', '-')}",
                type=kind,
                default=default,
                choices=_choices(type(defaults), spec.name),
                dest=f"{group}.{spec.name}",
                metavar=spec.metadata.get("metavar") or None,
                help=spec.metadata["help"] + ("" if default == "" else f" (default: {default})"),
            )
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="CHECKPOINT",
        help="continue from a checkpoint (last.pt) with its saved settings",
    )
    parser.add_argument(
        "--export",
        type=Path,
        metavar="PATH",
        help="fit the priors, evaluate the best model and write the artifact here",
    )
    parser.add_argument(
        "--eval-k", type=int, default=1000, metavar="K", help="importance samples for the NLL"
    )
    parser.add_argument(
        "--description", default="", metavar="TEXT", help="one line for the metadata"
    )
    parser.add_argument(
        "--credits",
        action="append",
        default=[],
        metavar="TEXT",
        help="attribution the data's licences require, stored in the metadata and shown by "
        "/models (repeatable)",
    )
    parser.add_argument(
        "--classifier-dir",
        type=Path,
        default=DEFAULT_CLASSIFIER_DIR,
        metavar="DIR",
        help="cache of category classifiers that judge samples, one per labelled train split "
        "(trained on first use)",
    )
    args = parser.parse_args(argv)
    values = vars(args)
    model = ModelConfig(
        **{k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("model.")}
    )
    train_fields = {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith("train.")}
    if args.resume is not None:
        saved = torch.load(args.resume, map_location="cpu", weights_only=False)["config"]
        flag_defaults = {
            f"{group}.{name}": value
            for group, group_config in groups.items()
            for name, value in dataclasses.asdict(group_config).items()
        }
        ignored = sorted(
            "--" + key.split(".", 1)[1].replace("_", "-")
            for key, value in values.items()
            if key in flag_defaults and value != flag_defaults[key]
        )
        if ignored:
            sys.stderr.write(
                f"vae-train: --resume continues with the checkpoint's settings; "
                f"ignoring {', '.join(ignored)}\n"
            )
        return TrainConfig.from_dict(saved), args
    return TrainConfig(model=model, **train_fields), args
