"""Fit latent priors after training: Gaussian mixtures on the aggregate posterior (format 2).

The aggregate posterior q(z) = E_x q(z|x) does not fill N(0, I), so prior draws land where no
training digit maps and decode to non-digits. A full-covariance Gaussian mixture fitted to the
training codes fixes that (Ghosh et al. 2020, §4; Chadebec & Allassonnière 2022). EM is
scikit-learn's; what we store is only the weights, means and Cholesky factors, in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import torch
from sklearn.mixture import GaussianMixture as SklearnMixture
from torch import Tensor

from contract.priors import GaussianMixture, Priors
from contract.transforms import to_unit

CodeSource = Literal["means", "draws"]


class Encodes(Protocol):
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]: ...


@dataclass(frozen=True)
class Codes:
    """Encoder outputs for a set of images: means and log-variances, [N,D] each."""

    mean: Tensor
    logvar: Tensor

    def points(self, source: CodeSource, generator: torch.Generator) -> Tensor:
        """The encoder means, or one draw z ~ q(z|x) per image: [N,D]."""
        if source == "means":
            return self.mean
        noise = torch.randn(self.mean.shape, generator=generator)
        return self.mean + torch.exp(0.5 * self.logvar) * noise


@torch.no_grad()
def encode_all(model: Encodes, pixels: Tensor, batch_size: int = 500) -> Codes:
    """q(z|x) for uint8 images [N,C,H,W] (encoder input p / 255)."""
    parts = [
        model.encode(to_unit(pixels[i : i + batch_size])) for i in range(0, len(pixels), batch_size)
    ]
    return Codes(torch.cat([m for m, _ in parts]), torch.cat([v for _, v in parts]))


def fit_mixture(points: Tensor, components: int, seed: int = 0) -> GaussianMixture:
    """A full-covariance mixture of `components` Gaussians fitted by EM to points [N,D]."""
    fitted = SklearnMixture(
        n_components=components,
        covariance_type="full",
        reg_covar=1e-4,  # a floor on each variance; the codes are O(1)
        max_iter=300,
        n_init=1,
        random_state=seed,
    ).fit(points.double().numpy())
    cholesky = np.linalg.cholesky(fitted.covariances_)  # [K,D,D], lower
    weights = torch.from_numpy(fitted.weights_).float()
    return GaussianMixture(
        weights / weights.sum(),
        torch.from_numpy(fitted.means_).float(),
        torch.from_numpy(cholesky).float().tril(),
    )


def fit_priors(
    codes: Codes,
    labels: Tensor | None,
    components: int,
    class_components: int,
    source: CodeSource = "means",
    seed: int = 0,
    names: dict[int, str] | None = None,
) -> Priors:
    """The fitted prior over all codes, and one small mixture per class when labels exist.

    Each class's mixture is stored under its name (`names`, else the label's number): what
    /sample?label= asks for (and ?digit= for the names 0…9). Images without a label (NO_LABEL,
    -1) count for the fitted prior only."""
    points = codes.points(source, torch.Generator().manual_seed(seed))
    fitted = fit_mixture(points, components, seed)
    classes: dict[str, GaussianMixture] = {}
    if labels is not None:
        for label in sorted(v for v in labels.unique().tolist() if v >= 0):
            chosen = points[labels == label]
            name = (names or {}).get(label, str(label))
            classes[name] = fit_mixture(chosen, min(class_components, len(chosen)), seed)
    return Priors(int(points.shape[1]), fitted, classes)
