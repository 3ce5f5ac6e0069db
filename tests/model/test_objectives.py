import math

import pytest
import torch
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from model.objectives import (
    bits_per_dim,
    elbo_terms,
    importance_weighted_nll,
    kl_to_standard_normal,
)
from tests.conftest import tiny_vae


def test_kl_matches_torch_distributions() -> None:
    generator = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(5, 7, generator=generator), torch.randn(5, 7, generator=generator)
    posterior = Independent(Normal(mean, torch.exp(0.5 * logvar)), 1)
    prior = Independent(Normal(torch.zeros(7), torch.ones(7)), 1)
    torch.testing.assert_close(kl_to_standard_normal(mean, logvar), kl_divergence(posterior, prior))


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


def test_iwae_with_one_sample_equals_the_elbo() -> None:
    vae = tiny_vae()
    x = torch.bernoulli(torch.full((4, 1, 28, 28), 0.2))
    nll, neg_elbo = importance_weighted_nll(
        vae, x, x, k=1, generator=torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(nll, neg_elbo)


def test_iwae_bound_is_tighter_than_the_elbo() -> None:
    vae = tiny_vae()
    x = torch.bernoulli(torch.full((4, 1, 28, 28), 0.2))
    nll, neg_elbo = importance_weighted_nll(
        vae, x, x, k=64, generator=torch.Generator().manual_seed(0), chunk=50
    )
    assert torch.all(nll <= neg_elbo + 1e-4)
    # And the ELBO it reports agrees with the analytic-KL estimator on average.
    with torch.no_grad():
        log_lik, kl = elbo_terms(
            vae,
            x.repeat(200, 1, 1, 1),
            x.repeat(200, 1, 1, 1),
            generator=torch.Generator().manual_seed(1),
        )
    assert float((kl - log_lik).mean()) == pytest.approx(float(neg_elbo.mean()), rel=0.02)


def test_bits_per_dim_of_a_uniform_density_is_eight() -> None:
    # A uniform density on [0, 1)^D has NLL 0 nats, i.e. 8 bits per 8-bit pixel.
    assert float(bits_per_dim(torch.tensor([0.0]), 784)) == pytest.approx(8.0)
