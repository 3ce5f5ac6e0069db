import pytest
import torch

from model.evaluation.quality import frechet_distance, mnist_score


def test_frechet_distance_of_one_dimensional_gaussians() -> None:
    # For 1-D normals the distance is (m1 - m2)^2 + (s1 - s2)^2.
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(200_000, 1, generator=generator) * 2.0 + 1.0
    b = torch.randn(200_000, 1, generator=generator) * 0.5
    assert frechet_distance(a, b) == pytest.approx(1.0 + 1.5**2, rel=0.02)


def test_frechet_distance_of_a_set_with_itself_is_zero() -> None:
    features = torch.randn(500, 8, generator=torch.Generator().manual_seed(1))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_mnist_score_ranges_from_one_to_ten() -> None:
    assert mnist_score(torch.full((100, 10), 0.1)) == pytest.approx(1.0)
    assert mnist_score(torch.eye(10).repeat(10, 1)) == pytest.approx(10.0, rel=1e-4)
