import math

import pytest
import torch

from app.latent_math import interpolate


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolation_ends_equal_the_inputs(method: str) -> None:
    a, b = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([-2.0, 0.5, 4.0])
    path = interpolate(a, b, 7, method)
    assert path.shape == (7, 3)
    assert torch.equal(path[0], a)
    assert torch.equal(path[-1], b)


def test_slerp_follows_the_great_circle() -> None:
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    middle = interpolate(a, b, 3, "slerp")[1]
    torch.testing.assert_close(middle, torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))
    # Unnormalised: norms in between interpolate too (White 2016).
    scaled = interpolate(a, 3 * b, 3, "slerp")[1]
    torch.testing.assert_close(scaled, torch.tensor([math.sqrt(0.5), 3 * math.sqrt(0.5)]))


def test_slerp_falls_back_to_linear_for_parallel_vectors() -> None:
    a = torch.tensor([1.0, 1.0])
    torch.testing.assert_close(
        interpolate(a, 2 * a, 5, "slerp"), interpolate(a, 2 * a, 5, "linear")
    )
    torch.testing.assert_close(interpolate(a, -a, 5, "slerp"), interpolate(a, -a, 5, "linear"))
