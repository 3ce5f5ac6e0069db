"""VAEs trained elsewhere, exported by vae-export and served by a real server: a small diffusers
AutoencoderKL built from a config (random weights, no hub), and the MLP VAE of
examples/mlp_vae.py.

Tolerance: the served tensors equal diffusers' own to 1e-4 (float32 programs against the eager
module; float16 latents are compared after the same rounding)."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from model.export.command import main as vae_export
from tests.e2e.conftest import Server, running

diffusers = pytest.importorskip("diffusers")
REPO = Path(__file__).resolve().parents[2]
NPY = {"Content-Type": "application/x-npy"}
TOLERANCE = 1e-4
SCALING, SHIFT = 0.5, 0.1


def npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def from_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


@pytest.fixture(scope="module")
def autoencoder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    """A 3-block AutoencoderKL (pictures 4× its latent), saved with save_pretrained."""
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(16, 32, 32),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=32,
        scaling_factor=SCALING,
        shift_factor=SHIFT,
    ).eval()
    folder = tmp_path_factory.mktemp("kl") / "tiny-kl"
    vae.save_pretrained(folder)
    return folder, vae


def colour_pictures(folder: Path, count: int = 24) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2)
    for index in range(count):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        Image.new("RGB", (32, 32), colour).save(folder / f"{index}.png")
    return folder


@pytest.fixture(scope="module")
def served_kl(
    autoencoder: tuple[Path, torch.nn.Module], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One server for every source: the AutoencoderKL as it is (`tiny-kl`), the same with a
    prior fitted to some pictures (`kl-prior`), and examples/mlp_vae.py's MLP (`mlp-vae`),
    trained for an epoch on random binary pictures and exported through its factory, as
    docs/serve-your-own.md does."""
    from examples.mlp_vae import train

    root = tmp_path_factory.mktemp("foreign")
    weights = root / "weights"
    folder = str(autoencoder[0])
    vae_export([folder, "--output", str(weights / "kl.pt"), "--max-side", "256"])
    pictures = colour_pictures(root / "pictures")
    vae_export(
        [folder, "--output", str(weights / "kl-prior.pt"), "--name", "kl-prior"]
        + ["--fit-prior", str(pictures), "--prior-components", "2"]
    )
    torch.save(train(torch.rand(64, 784).round(), epochs=1).state_dict(), root / "mlp-vae.pt")
    os.environ["MLP_VAE_WEIGHTS"] = str(root / "mlp-vae.pt")
    try:
        vae_export(["examples.mlp_vae:factory", "--output", str(weights / "mlp.pt")])
    finally:
        del os.environ["MLP_VAE_WEIGHTS"]
    with running(weights, VAE_DEFAULT_MODEL="tiny-kl") as live:
        yield live


def listed(server: Server, name: str) -> dict[str, object]:
    models = httpx.get(f"{server.url}/models", timeout=30).json()["models"]
    return next(model for model in models if model["name"] == name)


def diffusers_decode(vae: torch.nn.Module, z: np.ndarray) -> np.ndarray:
    """What a diffusers pipeline shows for latents z: decode(z / s + shift), to [0, 1]."""
    with torch.no_grad():
        picture = vae.decode(torch.from_numpy(z).float() / SCALING + SHIFT).sample
    return (picture / 2 + 0.5).clamp(0, 1).numpy()


@pytest.mark.parametrize(("grid", "dtype"), [((4, 8, 8), "float32"), ((4, 12, 20), "float16")])
def test_decode_equals_diffusers_own(
    served_kl: Server,
    autoencoder: tuple[Path, torch.nn.Module],
    grid: tuple[int, int, int],
    dtype: str,
) -> None:
    z = np.random.default_rng(0).standard_normal((2, *grid)).astype(dtype)
    answer = httpx.post(f"{served_kl.url}/decode.npy", content=npy(z), headers=NPY, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-npy"
    pictures = from_npy(answer.content)
    assert pictures.shape == (2, 3, grid[1] * 4, grid[2] * 4)
    assert pictures.dtype == np.float32
    expected = diffusers_decode(autoencoder[1], z.astype(np.float32))
    assert np.abs(pictures - expected).max() <= TOLERANCE


def test_encode_equals_diffusers_own(
    served_kl: Server, autoencoder: tuple[Path, torch.nn.Module]
) -> None:
    pictures = np.random.default_rng(1).random((2, 3, 24, 40)).astype(np.float32)
    answer = httpx.post(
        f"{served_kl.url}/encode.npy", content=npy(pictures), headers=NPY, timeout=60
    )
    assert answer.status_code == 200, answer.text
    means = from_npy(answer.content)
    with torch.no_grad():
        posterior = autoencoder[1].encode(torch.from_numpy(pictures) * 2 - 1).latent_dist
    expected = ((posterior.mean - SHIFT) * SCALING).numpy()
    assert means.shape == (2, 4, 6, 10)
    assert np.abs(means - expected).max() <= TOLERANCE
    as_json = httpx.post(f"{served_kl.url}/encode", content=npy(pictures), headers=NPY, timeout=60)
    body = as_json.json()
    assert body["latent_shape"] == [4, 6, 10]
    logvar = (posterior.logvar + 2 * math.log(SCALING)).flatten(1).numpy()
    assert np.abs(np.array(body["logvar"]) - logvar).max() <= TOLERANCE


def test_json_grids_and_png_uploads_of_any_size(served_kl: Server) -> None:
    grid = np.zeros((4, 5, 7)).tolist()
    png = httpx.post(f"{served_kl.url}/decode", json={"latents": [grid]}, timeout=60)
    assert png.status_code == 200, png.text
    assert Image.open(io.BytesIO(png.content)).size == (28, 20)
    upload = io.BytesIO()
    Image.new("RGB", (50, 30), (200, 40, 40)).save(upload, format="PNG")
    encoded = httpx.post(
        f"{served_kl.url}/encode",
        content=upload.getvalue(),
        headers={"Content-Type": "image/png"},
        timeout=60,
    ).json()
    assert encoded["latent_shape"] == [4, 8, 12]  # 30×50 read as 32×48, the nearest it takes
    recon = httpx.post(
        f"{served_kl.url}/reconstruct",
        content=upload.getvalue(),
        headers={"Content-Type": "image/png"},
        timeout=60,
    )
    assert Image.open(io.BytesIO(recon.content)).size == (48, 32)


def test_what_the_model_cannot_do_is_refused_with_the_reason(served_kl: Server) -> None:
    listing = listed(served_kl, "tiny-kl")
    assert listing["sizes"] == {"factor": 4, "multiple": 4, "min": 4, "max": 256}
    assert listing["latent_shape"] == [4, 8, 8]
    assert (listing["can_score"], listing["can_sample"]) == (False, False)
    assert listing["sample_priors"] == []
    upload = io.BytesIO()
    Image.new("RGB", (32, 32)).save(upload, format="PNG")
    score = httpx.post(
        f"{served_kl.url}/score",
        content=upload.getvalue(),
        headers={"Content-Type": "image/png"},
        timeout=30,
    )
    assert score.status_code == 422
    assert "has no likelihood" in score.json()["detail"]
    sample = httpx.get(f"{served_kl.url}/sample?seed=1", timeout=30)
    assert sample.status_code == 422
    assert "--fit-prior FOLDER" in sample.json()["detail"]


@pytest.mark.parametrize(
    ("grid", "status", "fragment"),
    [
        ((4, 65, 8), 422, "takes sides that are multiples of 4 from 4 to 256 px"),
        ((4, 64, 64), 200, ""),  # 256×256: the largest side it serves
        ((3, 8, 8), 422, "[4, h, w] grids"),
    ],
)
def test_large_grids_are_bounded(
    served_kl: Server, grid: tuple[int, int, int], status: int, fragment: str
) -> None:
    z = np.zeros((1, *grid), dtype=np.float16)
    answer = httpx.post(f"{served_kl.url}/decode.npy", content=npy(z), headers=NPY, timeout=60)
    assert answer.status_code == status, answer.text
    if fragment:
        assert fragment in answer.json()["detail"]
    many = np.zeros((16, 4, 64, 64), dtype=np.float16)  # 16 × 3×256×256: 3.1 M values
    over = httpx.post(f"{served_kl.url}/decode.npy", content=npy(many), headers=NPY, timeout=60)
    assert over.status_code == 422
    assert "VAE_MAX_OUTPUT_VALUES" in over.json()["detail"]


def test_a_prior_fitted_on_pictures_makes_sample_work(served_kl: Server) -> None:
    assert listed(served_kl, "kl-prior")["can_sample"] is True
    sample = httpx.get(f"{served_kl.url}/sample?model=kl-prior&seed=3&n=2", timeout=60)
    assert sample.status_code == 200, sample.text
    assert Image.open(io.BytesIO(sample.content)).size == (64, 32)
    standard = httpx.get(f"{served_kl.url}/sample?model=kl-prior&seed=3&prior=standard")
    assert standard.status_code == 422


def test_the_mlp_example_exports_and_serves(served_kl: Server) -> None:
    """examples/mlp_vae.py's MLP VAE behind its adapter: flat latents, a Bernoulli likelihood
    written by vae-export from the probabilities its decode gives."""
    listing = listed(served_kl, "mlp-vae")
    assert (listing["latent_dim"], listing["likelihood"]) == (20, "bernoulli")
    url = f"{served_kl.url}/decode?model=mlp-vae"
    decoded = httpx.post(url, json={"latents": [[0.0] * 20]}, timeout=30)
    assert Image.open(io.BytesIO(decoded.content)).size == (28, 28)
    upload = io.BytesIO()
    Image.new("L", (28, 28), 255).save(upload, format="PNG")
    score = httpx.post(
        f"{served_kl.url}/score?model=mlp-vae&k=8&seed=0",
        content=upload.getvalue(),
        headers={"Content-Type": "image/png"},
        timeout=30,
    )
    assert score.status_code == 200, score.text
    assert score.json()["nll"][0] > 0
    assert httpx.get(f"{served_kl.url}/sample?model=mlp-vae&seed=1").status_code == 200
