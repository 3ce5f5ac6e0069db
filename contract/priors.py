"""Latent priors: the standard N(0, I) of the design notes, and Gaussian mixtures fitted to the
aggregate posterior after training (format 2; Ghosh et al. 2020, §4, "ex-post density
estimation").

A mixture p(z) = Σ_k w_k N(z; μ_k, L_k L_kᵀ) is stored as weights [K], means [K,D] and lower
Cholesky factors [K,D,D], float32. Sampling with temperature T draws a component k by the
weights, then z = μ_k + T · L_k ε, ε ~ N(0, I). Everything random uses the caller's CPU
generator, so a seed gives the same latents on every device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor

# Tolerances for a mixture read from a file: float32 weights written by a float64 fit.
_WEIGHT_SUM_TOLERANCE = 1e-4
_LOG_2PI = math.log(2.0 * math.pi)


class LatentPrior(Protocol):
    """Sampling is split in two so that a server can batch it: `draw` takes a request's random
    numbers from its own generator, `transform` turns any number of rows of them into z, each
    row on its own (the rows of a batch equal the rows made one at a time, bit for bit)."""

    @property
    def latent_dim(self) -> int: ...

    def draw(self, n: int, generator: torch.Generator) -> Draws: ...

    def transform(self, draws: Draws, temperature: Tensor | float = 1.0) -> Tensor: ...

    def sample(self, n: int, generator: torch.Generator, temperature: float = 1.0) -> Tensor: ...

    def log_prob(self, z: Tensor) -> Tensor: ...


@dataclass(frozen=True)
class Draws:
    """The random numbers of n samples: u ~ U[0, 1) [n] float64 (which component) and
    ε ~ N(0, I) [n,D]."""

    uniform: Tensor
    noise: Tensor

    @classmethod
    def joined(cls, parts: list[Draws]) -> Draws:
        if len(parts) == 1:
            return parts[0]
        return cls(torch.cat([p.uniform for p in parts]), torch.cat([p.noise for p in parts]))


@dataclass(frozen=True)
class StandardNormal:
    """N(0, I), the prior the model is trained with."""

    latent_dim: int

    def draw(self, n: int, generator: torch.Generator) -> Draws:
        noise = torch.randn((n, self.latent_dim), generator=generator)  # [n,D]
        return Draws(torch.empty(n, dtype=torch.float64), noise)

    def transform(self, draws: Draws, temperature: Tensor | float = 1.0) -> Tensor:
        """z = T · ε: [n,D]; `temperature` a number or one per row [n,1]."""
        return temperature * draws.noise

    def sample(self, n: int, generator: torch.Generator, temperature: float = 1.0) -> Tensor:
        return self.transform(self.draw(n, generator), temperature)

    def log_prob(self, z: Tensor) -> Tensor:
        """log N(z; 0, I): [N] from [N,D]."""
        return -0.5 * (_LOG_2PI + z.pow(2)).sum(-1)


@dataclass(frozen=True)
class GaussianMixture:
    """Σ_k w_k N(μ_k, L_k L_kᵀ) with weights [K], means [K,D], cholesky [K,D,D]."""

    weights: Tensor
    means: Tensor
    cholesky: Tensor
    latent_dim: int = field(init=False)
    _cumulative: Tensor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "latent_dim", int(self.means.shape[-1]))
        # Cumulative weights, for drawing components by inverse CDF: one uniform per sample is
        # several times cheaper than torch.multinomial for the n = 1 of most requests.
        object.__setattr__(self, "_cumulative", self.weights.double().cumsum(0))

    @classmethod
    def diagonal(cls, mean: Tensor, var: Tensor) -> GaussianMixture:
        """One component N(mean, diag var): how format-1 `class_latents` become a mixture."""
        return cls(torch.ones(1), mean[None].float(), torch.diag(var.clamp_min(0).sqrt())[None])

    @property
    def components(self) -> int:
        return int(self.weights.shape[0])

    def problems(self, latent_dim: int) -> list[str]:
        """What is wrong with this mixture for a D = `latent_dim` model (empty when valid)."""
        k = self.means.shape[0] if self.means.dim() == 2 else -1
        expected = {
            "weights": (self.weights, (k,)),
            "means": (self.means, (k, latent_dim)),
            "cholesky": (self.cholesky, (k, latent_dim, latent_dim)),
        }
        found = []
        for name, (tensor, shape) in expected.items():
            if k <= 0 or tuple(tensor.shape) != shape:
                found.append(f"{name} has shape {list(tensor.shape)}, expected {list(shape)}")
            elif not bool(torch.isfinite(tensor).all()):
                found.append(f"{name} holds NaN or infinite values")
        if found:
            return found
        total = float(self.weights.double().sum())
        if bool((self.weights < 0).any()) or abs(total - 1.0) > _WEIGHT_SUM_TOLERANCE:
            found.append(f"weights must be non-negative and sum to 1, they sum to {total:.6f}")
        if bool(torch.triu(self.cholesky, diagonal=1).ne(0).any()):
            found.append("cholesky factors must be lower-triangular")
        if bool((torch.diagonal(self.cholesky, dim1=-2, dim2=-1) <= 0).any()):
            found.append("cholesky factors must have a positive diagonal")
        return found

    def draw(self, n: int, generator: torch.Generator) -> Draws:
        uniform = torch.rand(n, generator=generator, dtype=torch.float64)  # [n]
        return Draws(uniform, torch.randn((n, self.latent_dim), generator=generator))

    def transform(self, draws: Draws, temperature: Tensor | float = 1.0) -> Tensor:
        """k ~ Categorical(w), z = μ_k + T · L_k ε: [n,D]. k is the first index whose
        cumulative weight exceeds u · Σw. L_k ε is a product and a sum over each row, not a
        matmul: a batched matmul's rows differ in the last bit from the same rows alone."""
        chosen = torch.searchsorted(
            self._cumulative, draws.uniform * self._cumulative[-1], right=True
        ).clamp_max(self.components - 1)  # [n]
        spread = (self.cholesky[chosen] * draws.noise[:, None, :]).sum(-1)  # [n,D]
        return self.means[chosen] + temperature * spread

    def sample(self, n: int, generator: torch.Generator, temperature: float = 1.0) -> Tensor:
        return self.transform(self.draw(n, generator), temperature)

    def log_prob(self, z: Tensor) -> Tensor:
        """log p(z) = logsumexp_k [log w_k + log N(z; μ_k, L_k L_kᵀ)]: [N] from [N,D]."""
        # One triangular solve per component over every point: L_k⁻¹ (z − μ_k)ᵀ, [D,N]. (An
        # [N,K,D,D] batch of the factors would need N·K·D² numbers: 80 GB for 800 points of a
        # 256-d latent under 200 components.)
        points = z.double().T  # [D,N]
        mahalanobis = torch.stack(
            [
                torch.linalg.solve_triangular(
                    factor.double(), points - mean.double()[:, None], upper=False
                )
                .pow(2)
                .sum(0)
                for factor, mean in zip(self.cholesky, self.means, strict=True)
            ],
            dim=1,
        )  # [N,K]
        log_det = torch.diagonal(self.cholesky.double(), dim1=-2, dim2=-1).log().sum(-1)  # [K]
        per_component = -0.5 * (self.latent_dim * _LOG_2PI + mahalanobis) - log_det
        return torch.logsumexp(per_component + self.weights.double().log(), dim=1).float()

    def to_tensors(self) -> dict[str, Tensor]:
        return {"weights": self.weights, "means": self.means, "cholesky": self.cholesky}

    @classmethod
    def from_tensors(cls, tensors: dict[str, Tensor]) -> GaussianMixture:
        return cls(
            tensors["weights"].float(), tensors["means"].float(), tensors["cholesky"].float()
        )


@dataclass(frozen=True)
class Priors:
    """What an artifact offers for sampling: the standard prior always; a fitted mixture and
    per-class mixtures when the artifact has them (format 2, or format-1 `class_latents`)."""

    latent_dim: int
    fitted: GaussianMixture | None = None
    classes: dict[str, GaussianMixture] = field(default_factory=dict)

    @property
    def standard(self) -> StandardNormal:
        return StandardNormal(self.latent_dim)

    @property
    def names(self) -> list[str]:
        """The choices of /sample's `prior`, the default first."""
        return ["fitted", "standard"] if self.fitted is not None else ["standard"]

    def get(self, name: str) -> LatentPrior:
        """The prior called `name`; KeyError when this artifact has none by that name."""
        if name == "standard":
            return self.standard
        if name == "fitted" and self.fitted is not None:
            return self.fitted
        raise KeyError(name)

    def problems(self) -> list[str]:
        found = []
        if self.fitted is not None:
            found += [f"fitted prior: {p}" for p in self.fitted.problems(self.latent_dim)]
        for label, mixture in sorted(self.classes.items()):
            found += [f"class prior {label!r}: {p}" for p in mixture.problems(self.latent_dim)]
        return found

    def to_tensors(self) -> dict[str, dict[str, Tensor]]:
        """The body of priors.pt: {"fitted": {...}, "class/<label>": {...}}."""
        tensors = {f"class/{label}": m.to_tensors() for label, m in self.classes.items()}
        if self.fitted is not None:
            tensors["fitted"] = self.fitted.to_tensors()
        return tensors

    @classmethod
    def from_tensors(cls, latent_dim: int, tensors: dict[str, dict[str, Tensor]]) -> Priors:
        fitted = GaussianMixture.from_tensors(tensors["fitted"]) if "fitted" in tensors else None
        classes = {
            name.removeprefix("class/"): GaussianMixture.from_tensors(body)
            for name, body in tensors.items()
            if name.startswith("class/")
        }
        return cls(latent_dim, fitted, classes)
