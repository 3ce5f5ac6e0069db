from pathlib import Path

import pytest
import torch

from model.export import ArtifactError, load_artifact, metadata_problems, save_artifact
from tests.conftest import tiny_metadata, tiny_vae


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_scripted_outputs_equal_the_eager_model(tmp_path: Path, likelihood: str) -> None:
    eager = tiny_vae(likelihood)
    path = save_artifact(eager, tiny_metadata("rt", likelihood), tmp_path / "rt.pt")
    scripted, metadata = load_artifact(path)
    x, z = torch.rand(5, 1, 28, 28), torch.randn(5, 4)
    with torch.no_grad():
        for got, expected in zip(scripted.encode(x), eager.encode(x), strict=True):
            torch.testing.assert_close(got, expected, rtol=0, atol=0)
        torch.testing.assert_close(scripted.decode(z), eager.decode(z), rtol=0, atol=0)
        torch.testing.assert_close(
            scripted.log_likelihood(x, z), eager.log_likelihood(x, z), rtol=0, atol=0
        )
        torch.testing.assert_close(scripted(x), eager(x), rtol=0, atol=0)
    assert metadata["format_version"] == 1
    assert metadata["likelihood"] == likelihood


def test_decode_is_an_image_in_unit_range() -> None:
    with torch.no_grad():
        images = tiny_vae().decode(torch.randn(3, 4) * 10)
    assert images.shape == (3, 1, 28, 28)
    assert float(images.min()) >= 0.0
    assert float(images.max()) <= 1.0


def test_metadata_validation_names_each_problem() -> None:
    metadata = tiny_metadata("x")
    del metadata["dataset"]
    metadata["image_shape"] = [28, 28]
    metadata["class_latents"]["3"]["mean"] = [0.0]
    problems = metadata_problems({**metadata, "format_version": 7})
    assert "missing key 'dataset'" in problems
    assert "unknown format_version 7" in problems
    assert any("image_shape" in p for p in problems)
    assert any("class_latents['3']" in p for p in problems)
    assert metadata_problems({**tiny_metadata("ok"), "format_version": 1}) == []


def test_export_refuses_bad_metadata(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="missing key 'name'"):
        save_artifact(
            tiny_vae(),
            {k: v for k, v in tiny_metadata("x").items() if k != "name"},
            tmp_path / "x.pt",
        )
    assert not (tmp_path / "x.pt").exists()


def test_load_refuses_a_file_that_is_not_torchscript(tmp_path: Path) -> None:
    path = tmp_path / "state.pt"
    torch.save(tiny_vae().state_dict(), path)
    with pytest.raises(ArtifactError, match="not a TorchScript archive"):
        load_artifact(path)
