"""`vae-export SOURCE --output FILE`: write an artifact the service serves.

    vae-export runs/emoji/last.pt --output weights/emoji.pt --eval-k 100
    vae-export path/to/sd-vae --output weights/sd-vae.pt --fit-prior path/to/pictures
    vae-export my_vae:factory --output weights/my-vae.pt

SOURCE is one of three kinds, told apart by what it is:
- a checkpoint that vae-train wrote (`last.pt`): its best weights get their priors fitted on
  the training split and their figures measured on the val split, on --device (a GPU when
  there is one). The checkpoint is only read, so the command can be run again.
- a diffusers AutoencoderKL folder (config.json and weights; read from disk, never
  downloaded): any picture size, its scaling_factor and shift_factor applied as diffusers'
  pipelines apply them, no likelihood; --fit-prior FOLDER fits the prior /sample draws from.
- module:factory, a function returning an object with encode(x) -> (mean, logvar) and
  decode(z) -> image or likelihood parameters (docs/serve-your-own.md).

Before it writes, it checks the source (shapes, a round trip, finite values) and that the
artifact, loaded back as the service loads it, gives the source's outputs to within 1e-4.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from contract.containers import CONTAINERS, TORCHSCRIPT
from model.evaluation.judging import DEFAULT_CLASSIFIER_DIR
from model.export.checkpoint import ExportOptions, export_checkpoint
from model.export.checks import ExportCheckFailed
from model.export.foreign import ForeignSourceError
from model.export.sources import ForeignOptions, check_kind, export_adapter, export_diffusers


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vae-export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "source", help="a vae-train checkpoint, a diffusers AutoencoderKL folder or module:factory"
    )
    parser.add_argument(
        "--output", "-o", type=Path, required=True, metavar="FILE", help="the artifact to write"
    )
    parser.add_argument("--name", default="", help="the model's name in the API")
    parser.add_argument("--description", default="", metavar="TEXT", help="one line for people")
    parser.add_argument(
        "--credits",
        action="append",
        default=[],
        metavar="TEXT",
        help="attribution the data's licences require (repeatable; /models shows it)",
    )
    checkpoint = parser.add_argument_group("a vae-train checkpoint")
    checkpoint.add_argument(
        "--eval-k",
        type=int,
        default=1000,
        metavar="K",
        help="importance samples for the val NLL (default: %(default)s)",
    )
    checkpoint.add_argument(
        "--device",
        default="auto",
        metavar="DEVICE",
        help="where to evaluate: auto (CUDA when there is one), cpu, cuda[:N] "
        "(default: %(default)s)",
    )
    checkpoint.add_argument(
        "--data-dir", metavar="DIR", help="the training data, when it has moved since training"
    )
    checkpoint.add_argument(
        "--classifier-dir",
        type=Path,
        default=DEFAULT_CLASSIFIER_DIR,
        metavar="DIR",
        help="cache of the classifiers that judge samples (default: %(default)s)",
    )
    checkpoint.add_argument(
        "--prior-candidates",
        default="",
        metavar="K,K,...",
        help="the fitted prior's K to choose among on val (default: the run's own)",
    )
    checkpoint.add_argument(
        "--class-components",
        type=int,
        default=None,
        metavar="K",
        help="components of each per-class mixture for ?label= (default: the run's own)",
    )
    checkpoint.add_argument(
        "--container",
        choices=CONTAINERS,
        default=TORCHSCRIPT,
        help="the file's container (default: %(default)s; foreign sources are always torch.export)",
    )
    foreign = parser.add_argument_group("a model trained elsewhere")
    foreign.add_argument(
        "--fit-prior",
        type=Path,
        metavar="FOLDER",
        help="fit the prior /sample draws from to these pictures' codes",
    )
    foreign.add_argument(
        "--prior-components", type=int, default=10, metavar="K", help="(default: %(default)s)"
    )
    foreign.add_argument(
        "--size", type=int, default=0, metavar="PX", help="diffusers: the default picture side"
    )
    foreign.add_argument(
        "--max-side",
        type=int,
        default=2048,
        metavar="PX",
        help="diffusers: the largest picture side served (default: %(default)s)",
    )
    return parser.parse_args(argv)


def _export(args: argparse.Namespace, command: str) -> Path:
    kind = check_kind(args.source)
    if kind == "checkpoint":
        options = ExportOptions(
            path=args.output,
            command=command,
            k=args.eval_k,
            description=args.description,
            credits=tuple(args.credits),
            device=args.device,
            classifier_dir=args.classifier_dir,
            data_dir=args.data_dir,
            container=args.container,
            name=args.name,
            prior_candidates=args.prior_candidates,
            class_components=args.class_components,
        )
        return export_checkpoint(Path(args.source), options)
    foreign = ForeignOptions(
        path=args.output,
        command=command,
        name=args.name,
        description=args.description,
        credits=tuple(args.credits),
        size=args.size,
        max_side=args.max_side,
        fit_prior=args.fit_prior,
        prior_components=args.prior_components,
    )
    if kind == "diffusers":
        written, differences = export_diffusers(Path(args.source), foreign)
    else:
        written, differences = export_adapter(args.source, foreign)
    sys.stderr.write(f"checked: largest difference from the source {json.dumps(differences)}\n")
    return written


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    command = shlex.join(["vae-export", *(argv if argv is not None else sys.argv[1:])])
    try:
        written = _export(args, command)
    except (ValueError, FileNotFoundError, ForeignSourceError, ExportCheckFailed) as error:
        sys.stderr.write(f"vae-export: {error}\n")
        raise SystemExit(2) from None
    sys.stdout.write(f"{written}\n")


if __name__ == "__main__":
    main()
