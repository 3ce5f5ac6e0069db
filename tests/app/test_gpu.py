"""CUDA placement and CPU agreement; skipped where there is no GPU."""

from pathlib import Path

import pytest
import torch

from app.artifacts import StartupError, load_served_model
from app.registry import serving_device


def test_explicit_cuda_without_a_gpu_fails_clearly() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(StartupError, match="no CUDA GPU is available"):
        serving_device("cuda")


def test_auto_picks_the_cpu_without_a_gpu() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert serving_device("auto").type == expected


@pytest.mark.gpu
def test_model_lands_on_cuda_and_matches_cpu(tiny_artifact: Path) -> None:
    on_gpu = load_served_model(tiny_artifact, torch.device("cuda"))
    on_cpu = load_served_model(tiny_artifact, torch.device("cpu"))
    assert next(on_gpu.module.parameters()).is_cuda
    z = torch.randn(16, on_cpu.latent_dim)
    x = torch.rand(16, 1, 28, 28)
    with torch.inference_mode():
        torch.testing.assert_close(
            on_gpu.module.decode(z.cuda()).cpu(), on_cpu.module.decode(z), atol=1e-4, rtol=1e-4
        )
        gpu_mean, _ = on_gpu.module.encode(x.cuda())
        cpu_mean, _ = on_cpu.module.encode(x)
        torch.testing.assert_close(gpu_mean.cpu(), cpu_mean, atol=1e-4, rtol=1e-4)


@pytest.mark.gpu
def test_half_precision_is_a_per_model_setting_on_cuda(weights_dir: Path) -> None:
    """VAE_HALF_PRECISION=tiny: that model's calls run in float16 autocast, its answers stay
    float32 pictures within a float16 rounding of the float32 ones."""
    from tests.app.conftest import make_client, wait_ready

    answers = {}
    for half in ([], ["tiny"]):
        with make_client(weights_dir, device="cuda", half_precision=half) as client:
            wait_ready(client)
            assert client.app.state.registry.models["tiny"].half == bool(half)  # type: ignore[attr-defined]
            answers[bool(half)] = client.post(
                "/decode.npy", json={"latents": [[0.5, -0.5, 1.0, 0.0]]}
            ).content
    import io

    import numpy as np

    full, halved = (np.load(io.BytesIO(answers[key])) for key in (False, True))
    assert halved.dtype == np.float32
    assert np.abs(full - halved).max() < 1e-2


def test_half_precision_is_ignored_on_the_cpu(weights_dir: Path) -> None:
    from tests.app.conftest import make_client, wait_ready

    with make_client(weights_dir, device="cpu", half_precision=["tiny"]) as client:
        wait_ready(client)
        assert client.app.state.registry.models["tiny"].half is False  # type: ignore[attr-defined]
