"""The training guards: relative clipping, skipped non-finite steps, spike rollback."""

import copy
import math
from dataclasses import replace

import pytest
import torch

from model.config import ModelConfig, TrainConfig
from model.robustness import GradientClipper, is_spike, roll_back
from model.run_state import Rollback, RunState
from tests.utils.artifacts import tiny_vae


def test_gradient_clipper_clips_outliers_and_skips_non_finite_steps() -> None:
    vae = tiny_vae()
    optimizer = torch.optim.SGD(vae.parameters(), lr=0.0)
    clipper = GradientClipper(factor=5.0)

    def step_with_gradient(scale: float) -> float:
        for parameter in vae.parameters():
            parameter.grad = torch.full_like(parameter, scale)
        norm = clipper.step(vae, optimizer)
        return norm

    for _ in range(30):
        step_with_gradient(1.0)
    typical = clipper.mean_norm
    norm = step_with_gradient(1000.0)  # a spike: clipped to 5x the running mean
    assert norm > 100 * typical
    clipped = torch.cat([p.grad.flatten() for p in vae.parameters()]).norm()
    assert float(clipped) == pytest.approx(5.0 * typical, rel=1e-3)
    before = [p.detach().clone() for p in vae.parameters()]
    assert not math.isfinite(step_with_gradient(float("nan")))
    assert all(torch.equal(a, b) for a, b in zip(before, vae.parameters(), strict=True))


def test_a_spike_rolls_back_to_the_best_weights_at_half_the_rate() -> None:
    config = TrainConfig(spike_nats=200.0, kl_warmup_epochs=2, max_rollbacks=1)
    state = RunState(epoch=5, best_val=-2700.0)
    assert not is_spike(config, -2600.0, state)
    assert is_spike(config, -400.0, state)
    assert not is_spike(config, -400.0, replace(state, epoch=1))  # still in the KL warm-up
    rolled = replace(state, rollbacks=[Rollback(3, -400.0, 2)])
    assert not is_spike(config, -400.0, rolled)  # out of rollbacks
    vae = tiny_vae()
    optimizer = torch.optim.AdamW(vae.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10, eta_min=1e-4)
    best = {k: v.clone() for k, v in vae.state_dict().items()}
    best_optimizer = copy.deepcopy(optimizer.state_dict())
    with torch.no_grad():
        for parameter in vae.parameters():
            parameter.add_(1.0)  # the diverged weights
    roll_back(vae, optimizer, schedule, best, best_optimizer)
    assert all(torch.equal(vae.state_dict()[k], v) for k, v in best.items())
    assert optimizer.param_groups[0]["lr"] == pytest.approx(5e-4)
    assert schedule.eta_min == pytest.approx(5e-5)


def test_the_spike_threshold_follows_the_picture_size() -> None:
    digits = TrainConfig()
    emoji = TrainConfig(model=ModelConfig(likelihood="gaussian", image_shape=(3, 64, 64)))
    assert digits.spike_threshold == 196.0
    assert emoji.spike_threshold == 3072.0  # a 2,000-nat wobble is not a spike at 64×64×3
    state = RunState(epoch=30, best_val=-20000.0)
    assert not is_spike(emoji, -18000.0, state)
    assert is_spike(digits, -18000.0, state)
    assert TrainConfig(spike_nats=500.0).spike_threshold == 500.0
