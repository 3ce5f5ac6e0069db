"""The ELBO pieces and the importance-weighted bound, against torch.distributions."""

import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from contract.bounds import (
    bits_per_dim,
    gaussian_log_density,
    importance_weighted_bound,
    kl_to_standard_normal,
    reparameterize,
    score_images,
)
from contract.transforms import apply_transform, encoder_input, unit_to_pixels
from tests.utils.artifacts import tiny_vae


def test_kl_matches_torch_distributions() -> None:
    generator = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(5, 7, generator=generator), torch.randn(5, 7, generator=generator)
    posterior = Independent(Normal(mean, torch.exp(0.5 * logvar)), 1)
    prior = Independent(Normal(torch.zeros(7), torch.ones(7)), 1)
    torch.testing.assert_close(kl_to_standard_normal(mean, logvar), kl_divergence(posterior, prior))


def test_gaussian_log_density_matches_torch_distributions() -> None:
    generator = torch.Generator().manual_seed(0)
    z, mean, logvar = (torch.randn(6, 3, generator=generator) for _ in range(3))
    expected = Independent(Normal(mean, torch.exp(0.5 * logvar)), 1).log_prob(z)
    torch.testing.assert_close(gaussian_log_density(z, mean, logvar), expected)


def test_iwae_with_one_sample_equals_the_elbo() -> None:
    vae = tiny_vae()
    x = torch.bernoulli(torch.full((4, 1, 28, 28), 0.2))
    nll, neg_elbo = importance_weighted_bound(vae, x, x, 1, torch.Generator().manual_seed(0))
    torch.testing.assert_close(nll, neg_elbo)


def test_iwae_bound_is_tighter_than_the_elbo_and_its_elbo_is_unbiased() -> None:
    vae = tiny_vae()
    x = torch.bernoulli(torch.full((4, 1, 28, 28), 0.2))
    nll, neg_elbo = importance_weighted_bound(
        vae, x, x, 64, torch.Generator().manual_seed(0), decode_rows=50
    )
    assert torch.all(nll <= neg_elbo + 1e-4)
    # The ELBO it reports agrees with the analytic-KL estimator on average.
    with torch.no_grad():
        mean, logvar = vae.encode(x.repeat(200, 1, 1, 1))
        noise = torch.randn(mean.shape, generator=torch.Generator().manual_seed(1))
        log_lik = vae.log_likelihood(x.repeat(200, 1, 1, 1), reparameterize(mean, logvar, noise))
        analytic = kl_to_standard_normal(mean, logvar) - log_lik
    assert float(analytic.mean()) == pytest.approx(float(neg_elbo.mean()), rel=0.02)


def test_decoding_in_slices_does_not_change_the_bound() -> None:
    vae = tiny_vae()
    x = torch.bernoulli(torch.full((3, 1, 28, 28), 0.3))
    whole = importance_weighted_bound(vae, x, x, 20, torch.Generator().manual_seed(2))
    sliced = importance_weighted_bound(
        vae, x, x, 20, torch.Generator().manual_seed(2), decode_rows=4
    )
    for a, b in zip(whole, sliced, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("transform", ["binarize", "dequantize"])
def test_score_images_transforms_then_bounds_with_one_generator(transform: str) -> None:
    vae = tiny_vae("bernoulli" if transform == "binarize" else "gaussian")
    x_unit = torch.rand(3, 1, 28, 28)
    got = score_images(vae, x_unit, transform, 10, torch.Generator().manual_seed(5))
    generator = torch.Generator().manual_seed(5)
    target = apply_transform(unit_to_pixels(x_unit), transform, generator)
    expected = importance_weighted_bound(
        vae, encoder_input(target, transform), target, 10, generator
    )
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_bits_per_dim_of_a_uniform_density_is_eight() -> None:
    # A uniform density on [0, 1)^D has NLL 0 nats, i.e. 8 bits per 8-bit pixel.
    assert float(bits_per_dim(torch.tensor([0.0]), 784)) == pytest.approx(8.0)
    assert float(bits_per_dim(torch.tensor([-784 * math.log(256.0)]), 784)) == pytest.approx(0.0)
