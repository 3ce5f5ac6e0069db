"""vae-export refuses what it cannot export with one clear line, before it writes anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from model.export.command import main as vae_export


class FixedBatch:
    """An adapter whose encode turns the batch into a Python number (len(x)): torch.export
    would fix it at the example's size."""

    image_shape = (1, 8, 8)
    likelihood = "none"

    def __init__(self) -> None:
        self.net = nn.Linear(64, 4)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        flat = x.reshape(len(x), 64)
        return self.net(flat)[:, :2], self.net(flat)[:, 2:]

    def decode(self, z: Tensor) -> Tensor:
        return torch.sigmoid(z.sum(1, keepdim=True)).expand(-1, 64)


def fixed_batch() -> FixedBatch:
    return FixedBatch()


def no_decode() -> object:
    class Half:
        image_shape = (1, 8, 8)
        likelihood = "none"

        def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
            return x.flatten(1), x.flatten(1)

    return Half()


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("no/such/file.pt", "a vae-train checkpoint (last.pt), a diffusers AutoencoderKL folder"),
        (f"{__name__}:fixed_batch", "fixed the batch size at 2"),
        (f"{__name__}:no_decode", "has no decode"),
        (f"{__name__}:missing", "cannot import it"),
    ],
)
def test_a_source_it_cannot_export_is_one_line_and_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, fragment: str
) -> None:
    target = tmp_path / "out.pt"
    with pytest.raises(SystemExit) as stopped:
        vae_export([source, "--output", str(target)])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("vae-export: ")
    assert fragment in error
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_a_diffusers_folder_of_another_model_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "unet"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"_class_name": "UNet2DModel"}))
    with pytest.raises(SystemExit):
        vae_export([str(folder), "--output", str(tmp_path / "out.pt")])
    assert "takes AutoencoderKL folders" in capsys.readouterr().err


def test_a_checkpoint_that_is_not_one_of_ours_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "weights.pt"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(SystemExit):
        vae_export([str(path), "--output", str(tmp_path / "out.pt")])
    assert "not a vae-train checkpoint" in capsys.readouterr().err
    assert sys.modules[__name__] is not None
