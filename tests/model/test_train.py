"""Training end to end on small data: a smoke run with export, resume, and DDP with 2 processes."""

import copy
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from contract.artifact import load_artifact
from model.config import TrainConfig
from model.networks import GAUSSIAN_LOGVAR_MIN
from model.train import GradientClipper, is_spike, main, roll_back, variance_floor
from tests.utils.artifacts import tiny_vae

TINY = [
    "--limit",
    "256",
    "--latent-dim",
    "4",
    "--channels",
    "4",
    "--hidden",
    "16",
    "--batch-size",
    "64",
    "--kl-warmup-epochs",
    "1",
    "--prior-candidates",
    "1,2",
    "--prior-sources",
    "means",
    "--eval-samples",
    "300",
]


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_one_epoch_smoke_run_exports_a_valid_artifact(
    tmp_path: Path, mnist_dir: Path, classifier_path: Path, likelihood: str
) -> None:
    artifact = tmp_path / "smoke.pt"
    main(
        [
            *TINY,
            "--likelihood",
            likelihood,
            "--name",
            f"smoke-{likelihood}",
            "--epochs",
            "1",
            "--data-dir",
            str(mnist_dir),
            "--out-dir",
            str(tmp_path / "run"),
            "--eval-k",
            "2",
            "--export",
            str(artifact),
            "--classifier",
            str(classifier_path),
        ]
    )
    loaded = load_artifact(artifact)
    module, metadata = loaded.module, loaded.metadata.as_json()
    assert metadata["format_version"] == 2
    assert metadata["name"] == f"smoke-{likelihood}"
    assert metadata["dataset"] == {"name": "mnist", "split": "train-5k", "size": 256}
    assert metadata["metrics"]["k"] == 2
    assert metadata["metrics"]["split"] == "val-5k"
    assert metadata["metrics"]["nll"] <= metadata["metrics"]["neg_elbo"]
    assert ("bits_per_dim" in metadata["metrics"]) == (likelihood == "gaussian")
    assert metadata["training"]["command"].startswith("python -m model.train ")
    assert "class_latents" not in metadata
    assert sorted(loaded.priors.classes) == [str(d) for d in range(10)]
    assert loaded.priors.names == ["fitted", "standard"]
    table = metadata["priors"]["fitted"]["selection"]["table"]
    assert [row["components"] for row in table] == [1, 2]
    assert metadata["priors"]["fitted"]["components"] in (1, 2)
    assert set(metadata["metrics"]["priors"]) == {"fitted", "standard"}
    assert module.decode(torch.zeros(2, 4)).shape == (2, 1, 28, 28)
    assert (tmp_path / "run" / "samples-fitted.png").is_file()
    assert (tmp_path / "run" / "samples-standard.png").is_file()


def test_variance_floor_warms_up_and_ships_at_the_principled_floor(
    tmp_path: Path, mnist_dir: Path
) -> None:
    config = TrainConfig(variance_warmup_epochs=10)
    floors = [variance_floor(config, epoch) for epoch in range(12)]
    assert floors[0] == pytest.approx(math.log(0.01))
    assert all(a > b for a, b in zip(floors[:10], floors[1:11], strict=True))
    assert floors[10] == floors[11] == GAUSSIAN_LOGVAR_MIN
    run = tmp_path / "run"
    main(
        [
            *TINY,
            "--likelihood",
            "gaussian",
            "--epochs",
            "1",
            "--variance-warmup-epochs",
            "5",
            "--data-dir",
            str(mnist_dir),
            "--out-dir",
            str(run),
        ]
    )
    checkpoint = torch.load(run / "last.pt", weights_only=False)
    assert checkpoint["config"]["variance_warmup_epochs"] == 5


def test_resume_continues_where_the_checkpoint_stopped(tmp_path: Path, mnist_dir: Path) -> None:
    run = tmp_path / "run"
    common = [*TINY, "--data-dir", str(mnist_dir), "--out-dir", str(run)]
    main([*common, "--epochs", "2", "--max-minutes", "0"])  # stops after its first epoch
    first = torch.load(run / "last.pt", weights_only=False)
    assert first["state"]["epoch"] == 1
    main(["--resume", str(run / "last.pt")])
    resumed = torch.load(run / "last.pt", weights_only=False)
    assert resumed["state"]["epoch"] == 2
    assert not torch.equal(
        first["model"]["encoder.head.weight"], resumed["model"]["encoder.head.weight"]
    )


def test_distributed_data_parallel_with_two_gloo_processes(tmp_path: Path, mnist_dir: Path) -> None:
    run = tmp_path / "ddp"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "model.train",
        *TINY,
        "--epochs",
        "2",
        "--data-dir",
        str(mnist_dir),
        "--out-dir",
        str(run),
        "--num-threads",
        "1",
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=240,
        env=environment,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = torch.load(run / "last.pt", weights_only=False)
    assert checkpoint["state"]["epoch"] == 2
    assert checkpoint["config"]["limit"] == 256


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
    state: dict[str, object] = {"epoch": 5, "best_val": -2700.0}
    assert not is_spike(config, -2600.0, state)
    assert is_spike(config, -400.0, state)
    assert not is_spike(config, -400.0, {**state, "epoch": 1})  # still in the KL warm-up
    assert not is_spike(config, -400.0, {**state, "rollbacks": [{}]})  # out of rollbacks
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
