"""Training end to end on small data: a smoke run with export, resume, and DDP with 2 processes."""

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
from model.train import main, variance_floor
from model.train_args import parse_args
from tests.utils.colour_images import write_colour_folder

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
    tmp_path: Path, mnist_dir: Path, classifier_dir: Path, likelihood: str
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
            "--classifier-dir",
            str(classifier_dir),
        ]
    )
    loaded = load_artifact(artifact)
    module, metadata = loaded.module, loaded.metadata.as_json()
    assert metadata["format_version"] == 3
    assert metadata["name"] == f"smoke-{likelihood}"
    labels = metadata["dataset"].pop("labels")
    assert metadata["dataset"] == {"name": "mnist", "split": "train-5k", "size": 256}
    assert sorted(labels) == [str(d) for d in range(10)]
    assert metadata["image_shape"] == [1, 28, 28]
    assert len(metadata["score_reference"]["quantiles"]) == 101
    assert metadata["metrics"]["shifted"]["shift_px"] == 2
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


def test_help_describes_every_flag_with_a_plain_metavar(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    text = capsys.readouterr().out
    flags = [line.split()[0] for line in text.splitlines() if line.strip().startswith("--")]
    assert "--latent-dim" in flags
    assert "MODEL." not in text  # no MODEL.LATENT_DIM-style metavars
    assert "TRAIN." not in text
    for line in text.split("options:")[1].split("\n  --")[1:]:
        flag_and_help = " ".join(line.split())
        assert len(flag_and_help.split()) > 2, f"--{flag_and_help} has no description"


def test_name_and_out_dir_follow_the_likelihood() -> None:
    config, _ = parse_args(["--likelihood", "gaussian"])
    assert config.name == "mnist-gaussian"
    assert config.out_dir == "runs/mnist-gaussian"
    named, _ = parse_args(["--name", "digits"])
    assert (named.name, named.out_dir) == ("digits", "runs/digits")
    assert TrainConfig().augment_shift == 1  # the shipped recipe's


def test_resume_says_which_flags_it_ignores(
    tmp_path: Path, mnist_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    main([*TINY, "--data-dir", str(mnist_dir), "--out-dir", str(run), "--epochs", "1"])
    capsys.readouterr()
    config, _ = parse_args(["--resume", str(run / "last.pt"), "--lr", "0.5", "--epochs", "9"])
    assert config.lr == 1e-3
    assert "ignoring --epochs, --lr" in capsys.readouterr().err


def test_an_unlabelled_colour_folder_exports_without_a_class_prior(
    tmp_path: Path, classifier_dir: Path
) -> None:
    """Loose pictures (no class sub-folders): the export used to declare a `class` prior it
    never wrote, and failed after the whole training."""
    root = write_colour_folder(tmp_path / "colour", per_class=6, val_per_class=2)
    for split in ("train", "val"):
        for picture in (root / split).glob("*/*.png"):
            picture.rename(root / split / f"{picture.parent.name}-{picture.name}")
    artifact = tmp_path / "unlabelled.pt"
    main(
        [
            *TINY, "--likelihood", "gaussian", "--epochs", "1", "--data-dir", str(root),
            "--train-split", "train", "--val-split", "val", "--name", "unlabelled",
            "--out-dir", str(tmp_path / "run"), "--eval-k", "2", "--class-components", "1",
            "--classifier-dir", str(classifier_dir), "--export", str(artifact),
        ]
    )  # fmt: skip
    loaded = load_artifact(artifact)
    assert loaded.metadata.image_shape == (3, 32, 32)
    assert set(loaded.metadata.priors) == {"fitted"}
    assert loaded.priors.classes == {}
    assert "labels" not in loaded.metadata.as_json()["dataset"]


def test_bernoulli_on_colour_is_one_error_before_training(tmp_path: Path) -> None:
    root = write_colour_folder(tmp_path / "colour", per_class=2, val_per_class=1)
    with pytest.raises(SystemExit) as stopped:
        main([*TINY, "--data-dir", str(root), "--train-split", "train", "--val-split", "val"])
    assert stopped.value.code == 2
    assert not (tmp_path / "run").exists()


def test_a_kill_during_the_checkpoint_save_leaves_the_last_one_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The save writes a temporary file and renames it: a save that dies half-way (here:
    torch.save writes some bytes, then the process is 'killed') leaves last.pt as it was."""
    from model import train

    path = tmp_path / "last.pt"
    train.save_checkpoint({"epoch": 1}, path)
    real_save = torch.save

    def dies_half_way(obj: object, target: object) -> None:
        Path(str(target)).write_bytes(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt  # SIGINT, or the kill that SIGKILL would be

    monkeypatch.setattr(torch, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        train.save_checkpoint({"epoch": 2}, path)
    monkeypatch.setattr(torch, "save", real_save)
    assert torch.load(path, weights_only=False) == {"epoch": 1}
    train.save_checkpoint({"epoch": 3}, path)
    assert torch.load(path, weights_only=False) == {"epoch": 3}


def test_bf16_autocast_keeps_the_elbo_close_to_float32() -> None:
    """The networks may run in bf16; q's parameters, the likelihood and the KL stay float32."""
    from model.config import ModelConfig
    from model.networks import VAE
    from model.precision import uses_bf16
    from model.train import ElboObjective

    torch.manual_seed(0)
    config = ModelConfig(likelihood="gaussian", image_shape=(3, 32, 32), latent_shape="4x8x8")
    vae = VAE(config)
    x, noise = torch.rand(4, 3, 32, 32), torch.randn(4, 256)
    full = ElboObjective(vae, bf16=False)(x, x, noise)
    mixed = ElboObjective(vae, bf16=True)(x, x, noise)
    for exact, fast in zip(full, mixed, strict=True):
        assert fast.dtype == torch.float32
        assert bool(torch.isfinite(fast).all())
        torch.testing.assert_close(fast, exact, rtol=2e-2, atol=1.0)
    cpu = torch.device("cpu")
    assert uses_bf16("fp32", cpu) is False
    assert uses_bf16("bf16", cpu) is True


# docs/training.md's colour walkthrough, as printed there (on fewer icons).
WALKTHROUGH = [
    "--likelihood",
    "gaussian",
    "--train-split",
    "train",
    "--val-split",
    "val",
    "--batch-size",
    "16",
    "--augment-shift",
    "2",
    "--sigma-floor",
    "0.015625",
]


def test_the_colour_walkthrough_trains_past_where_it_diverged(tmp_path: Path) -> None:
    """The walkthrough's recipe on its own icons (vae-demo-images --colour), past epoch 6, where
    it used to diverge (one step sent q's log-variance to 44, exp() overflowed and every later
    step was skipped until a rollback): every loss finite and bounded, no rollback."""
    from model.demo_images import write_demo_folder

    data = write_demo_folder(tmp_path / "icons", train_per_class=40, val_per_class=8, colour=True)
    run = tmp_path / "run"
    main([*WALKTHROUGH, "--data-dir", str(data), "--epochs", "8", "--out-dir", str(run)])
    state = torch.load(run / "last.pt", weights_only=False)["state"]
    history = state["history"]
    assert [row["epoch"] for row in history] == list(range(1, 9))
    assert state["rollbacks"] == []
    assert state["skipped_steps"] == 0
    for row in history:
        assert all(math.isfinite(value) for value in row.values()), row
        assert abs(row["loss"]) < 1e5, row  # nats per 32×32×3 picture
        assert row["kl"] < 1e3, row
    assert history[-1]["val_neg_elbo"] < history[0]["val_neg_elbo"]  # it learns
