"""The service's side of loading: digests, the expected-digest check, folders of artifacts."""

import hashlib
from pathlib import Path

import pytest
import torch

from app.artifacts import find_artifacts, load_served_model
from contract.errors import ArtifactError

CPU = torch.device("cpu")


def test_a_good_artifact_loads_with_its_digest_and_priors(tiny_artifact: Path) -> None:
    model = load_served_model(tiny_artifact, CPU)
    assert model.name == "tiny"
    assert model.latent_dim == 4
    assert model.image_shape == (1, 28, 28)
    assert model.sha256 == hashlib.sha256(tiny_artifact.read_bytes()).hexdigest()
    assert model.size_bytes == tiny_artifact.stat().st_size
    described = model.describe()
    assert described["device"] == "cpu"
    assert described["sample_priors"] == ["fitted", "standard"]
    assert described["digits"] == [str(d) for d in range(10)]


def test_a_digest_that_differs_is_refused_before_loading(tiny_artifact: Path) -> None:
    with pytest.raises(ArtifactError, match="tiny.pt: sha256 .* does not match"):
        load_served_model(tiny_artifact, CPU, expected_sha256="0" * 64)


def test_an_empty_folder_names_its_path_and_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=f"{tmp_path}: holds no artifacts.*VAE_WEIGHTS"):
        find_artifacts(tmp_path)


def test_a_missing_folder_says_it_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="nowhere: does not exist.*VAE_WEIGHTS"):
        find_artifacts(tmp_path / "nowhere")
