"""save_artifact and load_artifact: round trips, both formats, and every refusal named."""

import io
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from contract.artifact import load_artifact, save_artifact
from contract.errors import ArtifactError
from contract.priors import GaussianMixture, Priors
from model.config import ModelConfig
from model.networks import VAE
from tests.utils.artifacts import (
    class_latents_v1,
    prior_metadata,
    tiny_metadata,
    tiny_priors,
    tiny_vae,
    write_raw,
)


class WrongDecodeShape(VAE):
    @torch.jit.export
    def decode(self, z: Tensor) -> Tensor:
        return torch.zeros(z.shape[0], 1, 10, 10)


class OnlyForward(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_scripted_outputs_equal_the_eager_model(tmp_path: Path, likelihood: str) -> None:
    eager = tiny_vae(likelihood)
    path = save_artifact(eager, tiny_metadata("rt", likelihood), tmp_path / "rt.pt")
    artifact = load_artifact(path)
    scripted = artifact.module
    x, z = torch.rand(5, 1, 28, 28), torch.randn(5, 4)
    with torch.no_grad():
        for got, expected in zip(scripted.encode(x), eager.encode(x), strict=True):
            torch.testing.assert_close(got, expected, rtol=0, atol=0)
        torch.testing.assert_close(scripted.decode(z), eager.decode(z), rtol=0, atol=0)
        torch.testing.assert_close(
            scripted.log_likelihood(x, z), eager.log_likelihood(x, z), rtol=0, atol=0
        )
        torch.testing.assert_close(scripted(x), eager(x), rtol=0, atol=0)
    assert artifact.metadata.format_version == 3
    assert artifact.metadata.likelihood == likelihood
    assert artifact.priors.names == ["standard"]


def test_fitted_priors_round_trip_bit_for_bit(tmp_path: Path) -> None:
    priors = tiny_priors()
    metadata = tiny_metadata("fit", priors=prior_metadata(priors))
    artifact = load_artifact(save_artifact(tiny_vae(), metadata, tmp_path / "fit.pt", priors))
    assert artifact.priors.names == ["fitted", "standard"]
    assert artifact.priors.fitted is not None
    assert priors.fitted is not None
    for name, tensor in priors.fitted.to_tensors().items():
        loaded = artifact.priors.fitted.to_tensors()[name]
        assert loaded.dtype == torch.float32
        assert torch.equal(loaded, tensor)
    assert sorted(artifact.priors.classes) == [str(d) for d in range(10)]
    assert artifact.metadata.priors["fitted"].components == 3


def test_a_format_1_artifact_loads_with_the_standard_prior_only(tmp_path: Path) -> None:
    metadata = tiny_metadata("old", class_latents=class_latents_v1())
    artifact = load_artifact(write_raw(tiny_vae(), metadata, tmp_path / "old.pt"))
    assert artifact.metadata.format_version == 1
    assert artifact.priors.names == ["standard"]
    # Its diagonal class statistics still serve ?digit=, as one-component mixtures.
    three = artifact.priors.classes["3"]
    assert three.components == 1
    torch.testing.assert_close(three.means[0], torch.tensor(metadata["class_latents"]["3"]["mean"]))
    variance = torch.tensor(metadata["class_latents"]["3"]["var"])
    torch.testing.assert_close(three.cholesky[0], variance.sqrt().diag())


def _priors_file(priors: dict[str, dict[str, Tensor]]) -> bytes:
    buffer = io.BytesIO()
    torch.save(priors, buffer)
    return buffer.getvalue()


def _write_v2(path: Path, fitted: dict[str, Tensor], info: dict[str, Any] | None = None) -> Path:
    metadata = {
        **tiny_metadata("v2"),
        "format_version": 2,
        "priors": info or {"fitted": {"components": len(fitted["weights"]), "fitted_on": "t"}},
    }
    return write_raw(
        tiny_vae(), json.dumps(metadata), path, **{"priors.pt": _priors_file({"fitted": fitted})}
    )


def _good() -> dict[str, Tensor]:
    fitted = tiny_priors().fitted
    assert fitted is not None
    return fitted.to_tensors()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"means": torch.zeros(3, 5)}, r"means has shape \[3, 5\], expected \[3, 4\]"),
        ({"cholesky": torch.eye(4).expand(2, 4, 4)}, "cholesky has shape"),
        ({"weights": torch.tensor([0.5, 0.3, 0.1])}, "sum to 1, they sum to 0.9"),
        ({"cholesky": torch.ones(3, 4, 4)}, "not lower-triangular|must be lower-triangular"),
        ({"cholesky": -torch.eye(4).expand(3, 4, 4).clone()}, "positive diagonal"),
    ],
)
def test_a_malformed_prior_is_refused_with_the_file_and_problem(
    tmp_path: Path, change: dict[str, Tensor], message: str
) -> None:
    path = _write_v2(tmp_path / "bad-prior.pt", {**_good(), **change})
    with pytest.raises(
        ArtifactError, match=rf"bad-prior\.pt: malformed prior: fitted prior: .*({message})"
    ):
        load_artifact(path)


def test_metadata_and_priors_file_must_agree(tmp_path: Path) -> None:
    path = _write_v2(
        tmp_path / "disagree.pt", _good(), {"class": {"components": 1, "fitted_on": "t"}}
    )
    with pytest.raises(
        ArtifactError, match=r"lists priors \['class'\] but priors.pt holds \['fitted'\]"
    ):
        load_artifact(path)


def test_export_refuses_a_malformed_prior(tmp_path: Path) -> None:
    bad = GaussianMixture(torch.tensor([0.7, 0.7]), torch.zeros(2, 4), torch.eye(4).expand(2, 4, 4))
    metadata = tiny_metadata("x", priors={"fitted": {"components": 2, "fitted_on": "t"}})
    with pytest.raises(ArtifactError, match="refusing to export .*sum to 1"):
        save_artifact(tiny_vae(), metadata, tmp_path / "x.pt", Priors(4, bad))
    assert not (tmp_path / "x.pt").exists()


def test_export_refuses_bad_metadata_naming_each_problem(tmp_path: Path) -> None:
    metadata = {k: v for k, v in tiny_metadata("x").items() if k != "name"}
    metadata["image_shape"] = [28, 28]
    with pytest.raises(
        ArtifactError, match="refusing to export .*name: Field required.*image_shape"
    ):
        save_artifact(tiny_vae(), metadata, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


def test_unknown_format_version(tmp_path: Path) -> None:
    path = write_raw(tiny_vae(), {**tiny_metadata("x"), "format_version": 5}, tmp_path / "v5.pt")
    with pytest.raises(ArtifactError, match=r"v5\.pt: unknown format_version 5"):
        load_artifact(path)


def test_class_latents_of_the_wrong_length(tmp_path: Path) -> None:
    latents = class_latents_v1()
    latents["3"]["mean"] = [0.0]
    path = write_raw(tiny_vae(), tiny_metadata("x", class_latents=latents), tmp_path / "cl.pt")
    with pytest.raises(ArtifactError, match=r"class_latents\['3'\] must hold mean and var"):
        load_artifact(path)


def test_missing_methods(tmp_path: Path) -> None:
    path = write_raw(OnlyForward(), tiny_metadata("x"), tmp_path / "forward-only.pt")
    with pytest.raises(ArtifactError, match="missing method.*encode.*decode.*log_likelihood"):
        load_artifact(path)


def test_wrong_shapes_are_caught_by_the_probe(tmp_path: Path) -> None:
    module = WrongDecodeShape(ModelConfig(latent_dim=4, channels=4, hidden=16))
    path = write_raw(module, tiny_metadata("x"), tmp_path / "bad-shape.pt")
    with pytest.raises(ArtifactError, match=r"bad-shape\.pt: decode returned \(2, 1, 10, 10\)"):
        load_artifact(path)


def test_latent_dim_that_disagrees_with_the_network(tmp_path: Path) -> None:
    path = write_raw(tiny_vae(), {**tiny_metadata("x"), "latent_dim": 9}, tmp_path / "dim.pt")
    with pytest.raises(ArtifactError, match="dim.pt: (probe call failed|encode mean returned)"):
        load_artifact(path)


def test_missing_metadata_keys(tmp_path: Path) -> None:
    metadata = tiny_metadata("x")
    del metadata["latent_dim"], metadata["input_transform"]
    path = write_raw(tiny_vae(), metadata, tmp_path / "keys.pt")
    with pytest.raises(ArtifactError, match="latent_dim: Field required; input_transform: Field"):
        load_artifact(path)


def test_metadata_that_is_not_json(tmp_path: Path) -> None:
    path = write_raw(tiny_vae(), "{not json", tmp_path / "json.pt")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_artifact(path)


@pytest.mark.parametrize("content", [b"", b"garbage" * 100, b"PK\x03\x04 truncated zip"])
def test_corrupt_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "corrupt.pt"
    path.write_bytes(content)
    with pytest.raises(ArtifactError, match="corrupt.pt: not an artifact of this service"):
        load_artifact(path)


def test_a_torch_save_checkpoint_is_not_an_artifact(tmp_path: Path) -> None:
    path = tmp_path / "state.pt"
    torch.save(tiny_vae().state_dict(), path)
    with pytest.raises(ArtifactError, match="a torch.save checkpoint is not an artifact"):
        load_artifact(path)


def test_the_torch_export_container_loads_and_gives_the_module_s_outputs(tmp_path: Path) -> None:
    """Format 4's second container: one ExportedProgram per method. The loader reads what the
    file is, whatever it is called."""
    vae = tiny_vae()
    target = save_artifact(
        vae, tiny_metadata("exported"), tmp_path / "model.bin", container="torch.export"
    )
    loaded = load_artifact(target)
    assert loaded.metadata.format_version == 4
    assert loaded.metadata.container == "torch.export"
    z, x = torch.randn(5, 4), torch.rand(5, 1, 28, 28).round()
    with torch.no_grad():
        assert torch.equal(loaded.module.decode(z), vae.decode(z))
        torch.testing.assert_close(loaded.module.log_likelihood(x, z), vae.log_likelihood(x, z))
        torch.testing.assert_close(loaded.module.forward(x), vae.forward(x))
    plain = save_artifact(vae, tiny_metadata("plain"), tmp_path / "plain.pt")
    assert load_artifact(plain).metadata.format_version == 3  # nothing of format 4 in it
