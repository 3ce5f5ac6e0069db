"""The loader refuses artifacts that break the contract, naming the file and the problem."""

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from app.artifacts import ArtifactError, find_artifacts, load_artifact
from model.config import ModelConfig
from model.networks import VAE
from tests.conftest import tiny_metadata, tiny_vae

CPU = torch.device("cpu")


def write(module: nn.Module, metadata: dict[str, Any] | str, path: Path) -> Path:
    """Save with torch.jit directly, bypassing the exporter's own checks."""
    payload = (
        metadata if isinstance(metadata, str) else json.dumps({"format_version": 1, **metadata})
    )
    torch.jit.save(torch.jit.script(module), str(path), _extra_files={"metadata.json": payload})
    return path


class WrongDecodeShape(VAE):
    @torch.jit.export
    def decode(self, z: Tensor) -> Tensor:
        return torch.zeros(z.shape[0], 1, 10, 10)


class OnlyForward(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x


def test_a_good_artifact_loads_with_its_digest(tiny_artifact: Path) -> None:
    model = load_artifact(tiny_artifact, CPU)
    assert model.name == "tiny"
    assert model.latent_dim == 4
    assert model.image_shape == (1, 28, 28)
    assert len(model.sha256) == 64
    assert model.size_bytes == tiny_artifact.stat().st_size
    assert model.describe()["device"] == "cpu"


def test_unknown_format_version(tmp_path: Path) -> None:
    path = write(tiny_vae(), {**tiny_metadata("x"), "format_version": 2}, tmp_path / "v2.pt")
    with pytest.raises(ArtifactError, match=r"v2\.pt: unknown format_version 2"):
        load_artifact(path, CPU)


def test_missing_methods(tmp_path: Path) -> None:
    path = write(OnlyForward(), tiny_metadata("x"), tmp_path / "forward-only.pt")
    with pytest.raises(ArtifactError, match="missing method.*encode.*decode.*log_likelihood"):
        load_artifact(path, CPU)


def test_wrong_shapes_are_caught_by_the_probe(tmp_path: Path) -> None:
    module = WrongDecodeShape(ModelConfig(latent_dim=4, channels=4, hidden=16))
    path = write(module, tiny_metadata("x"), tmp_path / "bad-shape.pt")
    with pytest.raises(ArtifactError, match=r"bad-shape\.pt: decode returned \(2, 1, 10, 10\)"):
        load_artifact(path, CPU)


def test_latent_dim_that_disagrees_with_the_network(tmp_path: Path) -> None:
    path = write(tiny_vae(), {**tiny_metadata("x"), "latent_dim": 9}, tmp_path / "dim.pt")
    with pytest.raises(ArtifactError, match="dim.pt: (probe call failed|encode mean returned)"):
        load_artifact(path, CPU)


def test_missing_metadata_keys(tmp_path: Path) -> None:
    metadata = tiny_metadata("x")
    del metadata["latent_dim"], metadata["input_transform"]
    path = write(tiny_vae(), metadata, tmp_path / "keys.pt")
    with pytest.raises(ArtifactError, match="lacks latent_dim, input_transform"):
        load_artifact(path, CPU)


def test_metadata_that_is_not_json(tmp_path: Path) -> None:
    path = write(tiny_vae(), "{not json", tmp_path / "json.pt")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_artifact(path, CPU)


@pytest.mark.parametrize("content", [b"", b"garbage" * 100, b"PK\x03\x04 truncated zip"])
def test_corrupt_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "corrupt.pt"
    path.write_bytes(content)
    with pytest.raises(ArtifactError, match="corrupt.pt: not a readable TorchScript artifact"):
        load_artifact(path, CPU)


def test_an_empty_folder_has_no_artifacts(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no artifacts"):
        find_artifacts(tmp_path)
