"""A model evaluated on a GPU (or any device) behind the CPU tensors the evaluation code uses."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class OnDevice:
    """`module`'s contract methods run on `device`, taking and giving CPU tensors: the
    evaluation code (likelihood bounds, priors, sample quality) stays device-free, and the
    arithmetic runs where it is fastest."""

    def __init__(self, module: Any, device: torch.device) -> None:
        self.module, self.device = module, device

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, logvar = self.module.encode(x.to(self.device))
        return mean.cpu(), logvar.cpu()

    def decode(self, z: Tensor) -> Tensor:
        images: Tensor = self.module.decode(z.to(self.device)).cpu()
        return images

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        values: Tensor = self.module.log_likelihood(x.to(self.device), z.to(self.device)).cpu()
        return values

    def __call__(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x)[0])
