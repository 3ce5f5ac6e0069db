"""The training loop: maximise the ELBO on IDX files or image folders; flags in model/train_args.py.

vae-train --likelihood gaussian --data-dir DIR --export weights/mnist-gaussian.pt
torchrun --nproc_per_node 2 -m model.train ...      # DistributedDataParallel
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from contract.bounds import kl_to_standard_normal, reparameterize
from contract.images import parse_colour
from contract.transforms import apply_transform, encoder_input
from model import distributed
from model.config import TrainConfig
from model.data import load_split, random_shift, shift_fill, survey_shape
from model.distributed import Runtime
from model.networks import VAE, check_supported
from model.precision import autocast, uses_bf16
from model.progress import progress
from model.robustness import GradientClipper, is_spike, roll_back
from model.run_state import Rollback, RunState
from model.train_args import parse_args


class ElboObjective(nn.Module):
    """The training forward pass, as a module so DistributedDataParallel can wrap it. With
    `bf16` the networks run in bf16 autocast; q's parameters, z, the likelihood and the KL stay
    float32 (VAE.log_likelihood casts the decoder's output)."""

    def __init__(self, vae: VAE, bf16: bool = False) -> None:
        super().__init__()
        self.vae, self.bf16 = vae, bf16

    def forward(self, x_encoder: Tensor, x_target: Tensor, noise: Tensor) -> tuple[Tensor, Tensor]:
        with autocast(x_encoder.device, self.bf16):
            mean, logvar = self.vae.encode(x_encoder)  # [N,D] each
            mean, logvar = mean.float(), logvar.float()
            z = reparameterize(mean, logvar, noise)
            log_lik = self.vae.log_likelihood(x_target, z)  # [N]
        return log_lik, kl_to_standard_normal(mean, logvar)  # [N]


@torch.no_grad()
def validation_elbo(vae: VAE, pixels: Tensor, runtime: Runtime, seed: int) -> float:
    """Mean negative ELBO (nats) over this rank's share of `pixels`, summed across ranks.

    A fixed generator gives the same binarization/dequantization and noise every epoch, so
    epochs are compared on equal terms.
    """
    vae.eval()
    generator = torch.Generator().manual_seed(seed)
    transform = "binarize" if vae.likelihood == "bernoulli" else "dequantize"
    total = torch.zeros(2, dtype=torch.float64)
    for start in range(0, len(pixels), 500):
        chunk = pixels[start : start + 500]
        x = apply_transform(chunk, transform, generator)
        noise = torch.randn((len(chunk), vae.latent_dim), generator=generator)
        if start // 500 % runtime.world_size != runtime.rank:
            continue  # other ranks take this chunk; the draws above keep generators in step
        x, noise = x.to(runtime.device), noise.to(runtime.device)
        mean, logvar = vae.encode(encoder_input(x, transform))
        log_lik = vae.log_likelihood(x, reparameterize(mean, logvar, noise))
        total += torch.tensor(
            [(kl_to_standard_normal(mean, logvar) - log_lik).sum().item(), len(x)]
        )
    total = distributed.sum_across(runtime, total.to(runtime.device)).cpu()
    vae.train()
    return float(total[0] / total[1])


def save_checkpoint(checkpoint: dict[str, Any], path: Path) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`: a kill during the
    save leaves the previous checkpoint whole (a rename within a folder is atomic)."""
    partial = path.with_name(f".{path.name}.partial")
    torch.save(checkpoint, partial)
    os.replace(partial, path)


def variance_floor(config: TrainConfig, epoch: int) -> float:
    """log σ²_min for this epoch: from log 0.01 down to the model's floor, linear in epochs."""
    floor = config.model.logvar_min
    if config.variance_warmup_epochs <= 0:
        return floor
    progress = min(1.0, epoch / config.variance_warmup_epochs)
    return (1.0 - progress) * max(math.log(0.01), floor) + progress * floor


def kl_weight(config: TrainConfig, epoch: int) -> float:
    """Linear KL annealing from 0.1 to 1 over the warm-up epochs."""
    if config.kl_warmup_epochs <= 0:
        return 1.0
    return min(1.0, 0.1 + 0.9 * epoch / config.kl_warmup_epochs)


def with_data_shape(config: TrainConfig) -> TrainConfig:
    """The config with its image shape taken from the flags or the data, checked before any
    training: an unsupported shape or likelihood is one error (ValueError) naming the fix."""
    shape = survey_shape(
        config.data_dir, config.train_split, config.image_size, config.image_channels
    )
    parse_colour(config.background)
    model = dataclasses.replace(config.model, image_shape=shape)
    check_supported(model)
    return dataclasses.replace(config, model=model)


def train(
    config: TrainConfig, runtime: Runtime, resume: Path | None = None
) -> tuple[VAE, RunState]:
    """Run the training loop; returns the best model (by val ELBO) and a summary of the run."""
    torch.manual_seed(config.seed)
    out_dir = Path(config.out_dir)
    shape, background = config.model.image_shape, parse_colour(config.background)
    train_pixels, _ = load_split(config.data_dir, config.train_split, shape, background)
    val_pixels, _ = load_split(config.data_dir, config.val_split, shape, background)
    order = torch.randperm(len(train_pixels), generator=torch.Generator().manual_seed(config.seed))
    train_pixels = train_pixels[order[: config.limit]]  # shuffled: the files are sorted by label

    # Channels-last: the convolutions' fast layout on CPUs and GPUs alike (model.precision).
    vae = VAE(config.model).to(runtime.device)
    vae.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    bf16 = uses_bf16(config.precision, runtime.device)
    objective: nn.Module = ElboObjective(vae, bf16)
    if runtime.distributed:
        objective = DistributedDataParallel(objective)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=config.epochs, eta_min=config.lr / 20
    )
    state = RunState(device=str(runtime.device), processes=runtime.world_size)
    best_weights = {k: v.detach().clone() for k, v in vae.state_dict().items()}
    best_optimizer = copy.deepcopy(optimizer.state_dict())
    if resume is not None:
        checkpoint = torch.load(resume, map_location=runtime.device, weights_only=False)
        vae.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        schedule.load_state_dict(checkpoint["schedule"])
        best_weights, state = checkpoint["best_model"], RunState.from_dict(checkpoint["state"])
        best_optimizer = checkpoint.get("best_optimizer", optimizer.state_dict())

    transform = config.model.input_transform
    fill = shift_fill(shape, background)

    def augment(pixels: Tensor, generator: torch.Generator) -> Tensor:
        """Shift (the gap filled with the background) and flip, as the flags say: [B,C,H,W]."""
        pixels = random_shift(pixels, config.augment_shift, generator, fill)
        if config.augment_flip > 0:
            flip = torch.rand(len(pixels), generator=generator) < config.augment_flip
            pixels = torch.where(flip[:, None, None, None], pixels.flip(3), pixels)
        return pixels

    clipper = GradientClipper(config.grad_clip)
    generator = torch.Generator().manual_seed(config.seed * 1000 + runtime.rank)
    started = time.monotonic() - state.seconds
    per_rank = len(train_pixels) // runtime.world_size  # equal shares keep DDP ranks in step
    first_epoch = config.epochs if state.finished else state.epoch
    epochs = progress(
        range(first_epoch, config.epochs),
        config.name,
        initial=state.epoch,
        total=config.epochs,
        each_step=True,
        disable=not runtime.is_main,
    )
    for epoch in epochs:
        generator.manual_seed(config.seed * 1000 + runtime.rank + 7919 * epoch)
        shuffled = torch.randperm(len(train_pixels), generator=torch.Generator().manual_seed(epoch))
        mine = shuffled[runtime.rank * per_rank : (runtime.rank + 1) * per_rank]
        beta, sums, max_norm = kl_weight(config, epoch), torch.zeros(3), 0.0
        vae.logvar_min = variance_floor(config, epoch)
        for start in range(0, per_rank, config.batch_size):
            pixels = augment(train_pixels[mine[start : start + config.batch_size]], generator)
            # A fresh binarization/dequantization on every pass over the data.
            x = apply_transform(pixels, transform, generator).to(
                runtime.device, memory_format=torch.channels_last
            )
            noise = torch.randn((len(x), config.model.latent_dim), generator=generator)
            log_lik, kl = objective(encoder_input(x, transform), x, noise.to(runtime.device))
            loss = (beta * kl - log_lik).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norm = clipper.step(vae, optimizer)
            if not math.isfinite(norm):
                state.skipped_steps += 1
            sums += torch.tensor([loss.item() * len(x), kl.detach().sum().item(), len(x)])
            max_norm = max(max_norm, norm) if math.isfinite(norm) else max_norm
        schedule.step()
        val = validation_elbo(vae, val_pixels, runtime, seed=config.seed + 1)
        epoch_seconds = time.monotonic() - started - state.seconds
        state.epoch, state.seconds = epoch + 1, time.monotonic() - started
        state.history.append(
            {
                "epoch": epoch + 1,
                "loss": float(sums[0] / sums[2]),
                "kl": float(sums[1] / sums[2]),
                "val_neg_elbo": val,
                "max_grad_norm": max_norm,
                "seconds": round(epoch_seconds, 2),
            }
        )
        if val < state.best_val:
            state.best_val, state.best_epoch = val, epoch
            best_weights = {k: v.detach().clone() for k, v in vae.state_dict().items()}
            best_optimizer = copy.deepcopy(optimizer.state_dict())
        elif is_spike(config, val, state):
            # Every rank sees the same val figure, so all roll back together.
            roll_back(vae, optimizer, schedule, best_weights, best_optimizer)
            state.rollbacks.append(Rollback(epoch, val, state.best_epoch))
            epochs.write(
                f"epoch {epoch}: val ELBO {-val:.1f} fell from {-state.best_val:.1f}; "
                f"rolled back to epoch {state.best_epoch} and halved the learning rate"
            )
        epochs.set_postfix(
            loss=f"{sums[0] / sums[2]:.1f}",
            kl=f"{sums[1] / sums[2]:.1f}",
            val_elbo=f"{-val:.1f}",
            best=f"{-state.best_val:.1f}",
            grad=f"{clipper.mean_norm:.0f}/{max_norm:.0f}",
        )
        out_of_time = config.max_minutes is not None and state.seconds > 60 * config.max_minutes
        stalled = epoch - state.best_epoch >= config.patience
        stop = distributed.broadcast_flag(runtime, out_of_time or stalled)
        # Early-stopped or complete: resuming it only exports. (A run cut short by the time
        # cap or a kill goes on training when resumed.)
        state.finished = bool(stalled) or epoch + 1 == config.epochs
        if runtime.is_main:
            out_dir.mkdir(parents=True, exist_ok=True)
            checkpoint = {
                "config": config.to_dict(),
                "model": vae.state_dict(),
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                "best_model": best_weights,
                "best_optimizer": best_optimizer,
                "state": state.to_dict(),
            }
            save_checkpoint(checkpoint, out_dir / "last.pt")
        if stop:
            break
    epochs.close()
    vae.load_state_dict(best_weights)
    vae.logvar_min = config.model.logvar_min  # what the artifact is evaluated and shipped with
    vae.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    return vae.eval(), state


def main(argv: list[str] | None = None) -> None:
    config, args = parse_args(argv)
    if args.resume is None:
        try:
            config = with_data_shape(config)
        except (ValueError, FileNotFoundError) as error:
            sys.stderr.write(f"vae-train: {error}\n")
            raise SystemExit(2) from None
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    runtime = distributed.start(config.device)
    try:
        train(config, runtime, resume=args.resume)
        if args.export is not None and runtime.is_main:
            # Evaluation needs the classifier and scikit-learn: import them only to export.
            from model.export.checkpoint import ExportOptions, export_checkpoint

            command = shlex.join(
                ["python", "-m", "model.train", *(argv if argv is not None else sys.argv[1:])]
            )
            options = ExportOptions(
                path=args.export,
                command=command,
                k=args.eval_k,
                description=args.description,
                credits=tuple(args.credits),
                device=str(runtime.device),
                classifier_dir=args.classifier_dir,
            )
            # The same door as vae-export: from the checkpoint this run wrote (or resumed).
            written = Path(config.out_dir) / "last.pt"
            export_checkpoint(written if written.exists() else args.resume, options)
    finally:
        distributed.stop(runtime)


if __name__ == "__main__":
    main()
