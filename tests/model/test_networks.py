"""The VAE's likelihoods against torch.distributions, and the variance bounds."""

import math

import torch
from torch.distributions import Bernoulli, Independent, Normal

from tests.utils.artifacts import tiny_vae


def test_bernoulli_log_likelihood_matches_torch_distributions() -> None:
    vae = tiny_vae("bernoulli")
    x = torch.bernoulli(torch.full((3, 1, 28, 28), 0.3))
    z = torch.randn(3, 4)
    logits = vae.decoder(z)
    expected = Independent(Bernoulli(logits=logits), 3).log_prob(x)
    torch.testing.assert_close(vae.log_likelihood(x, z), expected)


def test_gaussian_log_likelihood_matches_torch_distributions() -> None:
    vae = tiny_vae("gaussian")
    x = torch.rand(3, 1, 28, 28)
    z = torch.randn(3, 4)
    params = vae.decoder(z)
    mean, logvar = torch.sigmoid(params[:, :1]), vae.gaussian_logvar(params[:, 1:])
    expected = Independent(Normal(mean, torch.exp(0.5 * logvar)), 3).log_prob(x)
    torch.testing.assert_close(vae.log_likelihood(x, z), expected)


def test_gaussian_variance_stays_within_its_floor_and_ceiling() -> None:
    vae = tiny_vae("gaussian")
    extreme = torch.tensor([-1e4, 0.0, 1e4])
    logvar = vae.gaussian_logvar(extreme)
    assert logvar.min() >= math.log(1 / (12 * 256**2)) - 1e-6
    assert logvar.max() <= math.log(0.25) + 1e-6


def test_decode_is_an_image_in_unit_range() -> None:
    with torch.no_grad():
        images = tiny_vae().decode(torch.randn(3, 4) * 10)
    assert images.shape == (3, 1, 28, 28)
    assert float(images.min()) >= 0.0
    assert float(images.max()) <= 1.0
