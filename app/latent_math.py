"""Latent-space paths for /interpolate. (Sampling lives in contract.priors, the score in
contract.bounds: the training package uses the same code.)"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def interpolate(a: Tensor, b: Tensor, steps: int, method: str) -> Tensor:
    """`steps` points from a to b inclusive, [steps, *a.shape] (a vector [D] or a grid).

    slerp is the unnormalised form of White (2016): sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b,
    Ω the angle between a and b; it falls back to linear when they are (anti)parallel.
    """
    shape = a.shape
    t = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)[:, None]  # [S,1]
    a64, b64 = a.double().flatten()[None], b.double().flatten()[None]  # [1,D]
    linear = (1 - t) * a64 + t * b64
    if method == "linear":
        return linear.float().reshape(steps, *shape)
    norms = a64.norm() * b64.norm()
    cosine = float((a64 * b64).sum() / norms) if norms > 0 else 1.0
    omega = math.acos(max(-1.0, min(1.0, cosine)))
    if math.sin(omega) < 1e-6:
        return linear.float().reshape(steps, *shape)
    path = (torch.sin((1 - t) * omega) * a64 + torch.sin(t * omega) * b64) / math.sin(omega)
    path[0], path[-1] = a64[0], b64[0]  # exact ends, whatever rounding did
    return path.float().reshape(steps, *shape)


def loop_path(keys: Tensor, steps: int) -> Tensor:
    """A closed walk through keys [K,D], slerp from each to the next and from the last back to
    the first: [K·steps, D], `steps` points per leg, each leg's end left to the next leg, so the
    walk repeats without a doubled frame."""
    legs = [
        interpolate(keys[i], keys[(i + 1) % len(keys)], steps + 1, "slerp")[:-1]
        for i in range(len(keys))
    ]
    return torch.cat(legs)
