"""Guards against a diverging run: relative gradient clipping, spike detection, rollback.

The Gaussian likelihood can blow up once its variance floor is low (a 64-d run of the old
recipe fell from a val ELBO of +2739 to about +400 nats at epoch 38). These keep one bad batch
or one bad epoch from ending the run.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from model.config import TrainConfig
from model.networks import VAE
from model.run_state import RunState


class GradientClipper:
    """Clip the gradient norm at `factor` × its running mean, then step the optimizer.

    A non-finite norm skips the step, so one bad batch cannot poison the weights. The running
    mean (an EMA with a short warm-up) only learns from finite, unclipped norms.
    """

    def __init__(self, factor: float, decay: float = 0.99) -> None:
        self.factor, self.decay = factor, decay
        self.mean_norm, self.steps = 0.0, 0

    def limit(self) -> float:
        warm = self.steps >= 20 and self.factor > 0
        return self.factor * self.mean_norm if warm else math.inf

    def step(self, vae: VAE, optimizer: torch.optim.Optimizer) -> float:
        """Returns the norm before clipping (inf or nan when the step was skipped)."""
        norm = float(nn.utils.clip_grad_norm_(vae.parameters(), self.limit()))
        if not math.isfinite(norm):
            optimizer.zero_grad(set_to_none=True)
            return norm
        optimizer.step()
        seen = min(norm, self.limit())
        weight = max(1.0 - self.decay, 1.0 / (self.steps + 1))
        self.mean_norm += weight * (seen - self.mean_norm)
        self.steps += 1
        return norm


def is_spike(config: TrainConfig, val: float, state: RunState) -> bool:
    """The val negative ELBO rose more than the spike threshold above the best: training
    diverged."""
    return (
        config.spike_threshold > 0
        and state.epoch > config.kl_warmup_epochs
        and len(state.rollbacks) < config.max_rollbacks
        and val > state.best_val + config.spike_threshold
    )


def roll_back(
    vae: VAE,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.CosineAnnealingLR,
    best_weights: dict[str, Tensor],
    best_optimizer: dict[str, Any],
) -> None:
    """Back to the best epoch's weights and optimizer moments, at half the learning rate."""
    vae.load_state_dict(best_weights)
    optimizer.load_state_dict(best_optimizer)
    for group in optimizer.param_groups:
        group["lr"] *= 0.5
    schedule.base_lrs = [lr * 0.5 for lr in schedule.base_lrs]
    schedule.eta_min *= 0.5
