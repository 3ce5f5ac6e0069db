"""`vae-export SOURCE --output FILE`: write an artifact the service serves.

    vae-export runs/emoji/last.pt --output weights/emoji.pt --eval-k 100

SOURCE is a checkpoint that vae-train wrote (`last.pt`): its best weights get their priors
fitted on the training split and their figures measured on the val split, on --device (a GPU
when there is one), and the artifact is written with everything in its metadata. The checkpoint
is only read, so the command can be run again (with another k, other credits, ...).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from model.evaluation.judging import DEFAULT_CLASSIFIER_DIR
from model.export.checkpoint import ExportOptions, export_checkpoint


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="vae-export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", type=Path, help="a vae-train checkpoint (last.pt)")
    parser.add_argument(
        "--output", "-o", type=Path, required=True, metavar="FILE", help="the artifact to write"
    )
    parser.add_argument(
        "--eval-k",
        type=int,
        default=1000,
        metavar="K",
        help="importance samples for the val NLL (default: %(default)s)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        metavar="DEVICE",
        help="where to evaluate: auto (CUDA when there is one), cpu, cuda[:N] "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="the training data, when it is no longer where the checkpoint says",
    )
    parser.add_argument("--description", default="", metavar="TEXT", help="one line for people")
    parser.add_argument(
        "--credits",
        action="append",
        default=[],
        metavar="TEXT",
        help="attribution the data's licences require (repeatable; /models shows it)",
    )
    parser.add_argument(
        "--classifier-dir",
        type=Path,
        default=DEFAULT_CLASSIFIER_DIR,
        metavar="DIR",
        help="cache of the classifiers that judge samples (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    options = ExportOptions(
        path=args.output,
        command=shlex.join(["vae-export", *(argv if argv is not None else sys.argv[1:])]),
        k=args.eval_k,
        description=args.description,
        credits=tuple(args.credits),
        device=args.device,
        classifier_dir=args.classifier_dir,
        data_dir=args.data_dir,
    )
    try:
        written = export_checkpoint(args.source, options)
    except (ValueError, FileNotFoundError) as error:
        sys.stderr.write(f"vae-export: {error}\n")
        raise SystemExit(2) from None
    sys.stdout.write(f"{written}\n")


if __name__ == "__main__":
    main()
