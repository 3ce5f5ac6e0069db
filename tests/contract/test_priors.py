"""Mixture sampling and density against torch.distributions.MixtureSameFamily; seeds repeat."""

import pytest
import torch
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal

from contract.priors import GaussianMixture, Priors, StandardNormal
from tests.utils.artifacts import random_cholesky


def reference_mixture(mixture: GaussianMixture) -> MixtureSameFamily:
    return MixtureSameFamily(
        Categorical(probs=mixture.weights.double()),
        MultivariateNormal(mixture.means.double(), scale_tril=mixture.cholesky.double()),
    )


@pytest.fixture
def mixture() -> GaussianMixture:
    generator = torch.Generator().manual_seed(3)
    return GaussianMixture(
        torch.tensor([0.1, 0.6, 0.3]),
        torch.randn((3, 5), generator=generator) * 3,
        random_cholesky(3, 5, generator, scale=1.0),
    )


def test_draws_have_the_mixture_mean_and_covariance(mixture: GaussianMixture) -> None:
    draws = mixture.sample(200_000, torch.Generator().manual_seed(0)).double()
    reference = reference_mixture(mixture)
    torch.testing.assert_close(draws.mean(0), reference.mean, atol=0.03, rtol=0)
    torch.testing.assert_close(
        torch.cov(draws.T),
        reference.variance.diag_embed() + _off_diagonal(reference),
        atol=0.1,
        rtol=0.02,
    )


def _off_diagonal(reference: MixtureSameFamily) -> torch.Tensor:
    """The mixture's full covariance minus its diagonal: Σ w (C_k + μ_k μ_kᵀ) − μ μᵀ."""
    weights = reference.mixture_distribution.probs
    components = reference.component_distribution
    means, covariances = components.mean, components.covariance_matrix
    second = (weights[:, None, None] * (covariances + means[:, :, None] * means[:, None, :])).sum(0)
    full = second - reference.mean[:, None] * reference.mean[None, :]
    return full - full.diag().diag_embed()


def test_log_density_matches_mixture_same_family(mixture: GaussianMixture) -> None:
    z = torch.randn((50, 5), generator=torch.Generator().manual_seed(1)) * 4
    expected = reference_mixture(mixture).log_prob(z.double()).float()
    torch.testing.assert_close(mixture.log_prob(z), expected, atol=1e-4, rtol=1e-5)


def test_temperature_scales_the_spread_around_each_component(mixture: GaussianMixture) -> None:
    cold = mixture.sample(1000, torch.Generator().manual_seed(4), temperature=0.01)
    distance = torch.cdist(cold, mixture.means).min(1).values  # to the nearest component mean
    assert float(distance.max()) < 0.1
    warm = mixture.sample(1000, torch.Generator().manual_seed(4), temperature=1.0)
    assert float(torch.cdist(warm, mixture.means).min(1).values.median()) > 0.3


def test_the_same_seed_gives_the_same_latents(mixture: GaussianMixture) -> None:
    first = mixture.sample(7, torch.Generator().manual_seed(9), 0.8)
    again = mixture.sample(7, torch.Generator().manual_seed(9), 0.8)
    other = mixture.sample(7, torch.Generator().manual_seed(10), 0.8)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_standard_normal_is_temperature_times_noise() -> None:
    z = StandardNormal(3).sample(4, torch.Generator().manual_seed(0), temperature=0.5)
    torch.testing.assert_close(
        z, 0.5 * torch.randn((4, 3), generator=torch.Generator().manual_seed(0))
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: GaussianMixture(m.weights[:2], m.means, m.cholesky), "weights has shape"),
        (lambda m: GaussianMixture(m.weights, m.means[:, :4], m.cholesky), "means has shape"),
        (lambda m: GaussianMixture(m.weights * 2, m.means, m.cholesky), "sum to 1"),
        (
            lambda m: GaussianMixture(m.weights, m.means, m.cholesky.transpose(1, 2)),
            "lower-triangular",
        ),
        (lambda m: GaussianMixture(m.weights, m.means, -m.cholesky), "positive diagonal"),
        (
            lambda m: GaussianMixture(m.weights, m.means * float("nan"), m.cholesky),
            "NaN or infinite",
        ),
    ],
)
def test_malformed_mixtures_are_named(mixture: GaussianMixture, change, message: str) -> None:  # type: ignore[no-untyped-def]
    problems = change(mixture).problems(5)
    assert any(message in p for p in problems), problems
    assert mixture.problems(5) == []


def test_priors_name_their_choices_default_first(mixture: GaussianMixture) -> None:
    assert Priors(5, mixture).names == ["fitted", "standard"]
    assert Priors(5).names == ["standard"]
    with pytest.raises(KeyError):
        Priors(5).get("fitted")
    round_trip = Priors.from_tensors(5, Priors(5, mixture, {"3": mixture}).to_tensors())
    assert round_trip.fitted is not None
    assert torch.equal(round_trip.fitted.cholesky, mixture.cholesky)
    assert sorted(round_trip.classes) == ["3"]
