"""Sample quality on classifier features: Fréchet distance (the MNIST analog of FID) and score."""

from __future__ import annotations

import torch
from torch import Tensor

from model.evaluation.classifier import CategoryClassifier


def frechet_distance(features_a: Tensor, features_b: Tensor) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½) (Heusel et al. 2017, eq. 6), in float64.

    Tr((Σa Σb)^½) is computed as Σ √λ over the eigenvalues of Σa^½ Σb Σa^½, which is
    symmetric, so a symmetric eigensolver suffices and no complex square root appears.
    """
    a, b = features_a.double(), features_b.double()
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.atleast_2d(torch.cov(a.T)), torch.atleast_2d(torch.cov(b.T))  # [F,F]
    values, vectors = torch.linalg.eigh(cov_a)
    root_a = vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mean_a - mean_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def mnist_score(probabilities: Tensor) -> float:
    """exp(E_x KL(p(y|x) ‖ p(y))): the Inception Score on MNIST, between 1 and 10."""
    marginal = probabilities.mean(0, keepdim=True)
    kl = (probabilities * (probabilities.clamp_min(1e-12).log() - marginal.log())).sum(1)
    return float(kl.mean().exp())


@torch.no_grad()
def classify(classifier: CategoryClassifier, images: Tensor) -> tuple[Tensor, Tensor]:
    """(features [N,128], class probabilities [N,10]) for images in [0, 1]."""
    features = torch.cat(
        [classifier.features(images[i : i + 1000]) for i in range(0, len(images), 1000)]
    )
    return features, classifier.head(features).softmax(1)
