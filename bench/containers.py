"""TorchScript against torch.export: one network's decode timed in both containers, as the
server loads them (by hand; under a minute).

    python -m bench.containers runs/emoji-gaussian/last.pt weights/emoji-gaussian.pt

The checkpoint's best weights are written to a torch.export container beside the shipped
TorchScript artifact (its metadata and priors copied), both are read with `load_artifact`, and
decode is timed on N rows, median of --repeats calls after --warmup calls. Prints a Markdown
table (docs/artifact.md has the one from this machine).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from contract.artifact import load_artifact, save_artifact
from contract.containers import EXPORT
from model.export.checkpoint import load_checkpoint


def median_ms(module: Any, latents: torch.Tensor, warmup: int, repeats: int) -> float:
    with torch.no_grad():
        for _ in range(warmup):
            module.decode(latents)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            module.decode(latents)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.containers", description=__doc__)
    parser.add_argument("checkpoint", type=Path, help="the vae-train checkpoint (last.pt)")
    parser.add_argument("artifact", type=Path, help="its TorchScript artifact")
    parser.add_argument("--rows", default="1,16", help="batch sizes to time (default: 1,16)")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)

    scripted = load_artifact(args.artifact)
    vae, _, _ = load_checkpoint(args.checkpoint)
    metadata: dict[str, Any] = scripted.metadata.model_dump(mode="json", exclude_none=True)
    for written_by_save in ("container", "format_version", "call_rows"):
        metadata.pop(written_by_save, None)
    with tempfile.TemporaryDirectory() as folder:
        path = save_artifact(vae, metadata, Path(folder) / "exported.pt", scripted.priors, EXPORT)
        exported = load_artifact(path)
    rows = [int(count) for count in args.rows.split(",")]
    generator = torch.Generator().manual_seed(0)
    print(f"| decode, {args.artifact.name}, {torch.get_num_threads()} threads, median of "
          f"{args.repeats} | " + " | ".join(f"{n} row{'s' if n > 1 else ''}" for n in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for label, loaded in (("TorchScript", scripted), ("torch.export", exported)):
        cells = []
        call_rows = loaded.metadata.call_rows
        smallest = call_rows.min if call_rows is not None else 1
        for count in rows:
            # An exported program's smallest batch (often 2): the server pads 1 row to it.
            padded = max(count, smallest)
            latents = torch.randn(padded, loaded.metadata.latent_dim, generator=generator)
            cells.append(f"{median_ms(loaded.module, latents, args.warmup, args.repeats):.1f} ms")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
