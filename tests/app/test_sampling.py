"""Latents drawn for a batch of requests are the same bits as each request's drawn alone."""

from __future__ import annotations

import pytest
import torch

from app.sampling import PriorRows, make_prior_rows
from contract.priors import GaussianMixture, StandardNormal


def mixture(latent_dim: int = 8, components: int = 5) -> GaussianMixture:
    generator = torch.Generator().manual_seed(0)
    weights = torch.rand(components, generator=generator)
    factors = torch.randn(components, latent_dim, latent_dim, generator=generator).tril()
    cholesky = factors + 2.0 * torch.eye(latent_dim)  # a positive diagonal
    means = torch.randn(components, latent_dim, generator=generator)
    return GaussianMixture(weights / weights.sum(), means, cholesky)


@pytest.mark.parametrize("prior", [mixture(), StandardNormal(8)], ids=["mixture", "standard"])
def test_a_batch_of_draws_equals_each_drawn_alone(prior: GaussianMixture | StandardNormal) -> None:
    requests = [
        PriorRows(prior=prior, n=n, seed=seed, temperature=temperature)
        for seed, n, temperature in [(1, 1, 1.0), (2, 3, 0.5), (3, 2, 2.0), (1, 1, 0.25)]
    ]
    together = make_prior_rows(requests)
    for request, rows in zip(requests, together, strict=True):
        alone = prior.sample(
            request.n, torch.Generator().manual_seed(request.seed), request.temperature
        )
        assert torch.equal(rows, alone)
        assert request.latents is rows


def test_two_priors_in_one_batch_each_use_their_own() -> None:
    fitted, standard = mixture(), StandardNormal(8)
    requests = [
        PriorRows(prior=fitted, n=2, seed=5, temperature=1.0),
        PriorRows(prior=standard, n=2, seed=5, temperature=1.0),
    ]
    from_fitted, from_standard = make_prior_rows(requests)
    assert torch.equal(from_standard, standard.sample(2, torch.Generator().manual_seed(5)))
    assert torch.equal(from_fitted, fitted.sample(2, torch.Generator().manual_seed(5)))
    assert not torch.equal(from_fitted, from_standard)
