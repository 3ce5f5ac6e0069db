"""Leaf modules of the networks: normalisation, residual blocks, the two ways up a resolution.

Every module here works on one picture at a time (GroupNorm, never BatchNorm): the service
batches requests from different users, and no picture may change another's answer.
"""

from __future__ import annotations

from torch import Tensor, nn

# GroupNorm's groups: as many as divide the width, up to this many.
MAX_GROUPS = 8


def norm_layer(width: int, norm: str) -> nn.Module:
    """GroupNorm over `width` channels (`group`), or nothing (`none`, the original networks)."""
    if norm == "none":
        return nn.Identity()
    groups = next(g for g in range(min(MAX_GROUPS, width), 0, -1) if width % g == 0)
    return nn.GroupNorm(groups, width)


class ResidualBlock(nn.Module):
    """x + conv3×3(SiLU(norm(conv3×3(SiLU(norm(x)))))): detail without changing the resolution.

    With `norm="none"` the parameter names and the sums are those of the original networks, so
    their checkpoints load.
    """

    def __init__(self, width: int, norm: str = "none") -> None:
        super().__init__()
        if norm == "none":
            self.body = nn.Sequential(
                nn.SiLU(),
                nn.Conv2d(width, width, 3, padding=1),
                nn.SiLU(),
                nn.Conv2d(width, width, 3, padding=1),
            )
        else:
            self.body = nn.Sequential(
                norm_layer(width, norm),
                nn.SiLU(),
                nn.Conv2d(width, width, 3, padding=1),
                norm_layer(width, norm),
                nn.SiLU(),
                nn.Conv2d(width, width, 3, padding=1),
            )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def upsample_layer(width_in: int, width_out: int, upsample: str) -> nn.Module:
    """Double the resolution: [N,in,h,w] → [N,out,2h,2w].

    `transpose` is a stride-2 4×4 transposed convolution (the original networks). Its kernel
    overlaps unevenly, so flat areas show a checkerboard (Odena et al. 2016, "Deconvolution
    and Checkerboard Artifacts"). `nearest` repeats each pixel and then mixes with a 3×3
    convolution: every output pixel sees the same number of inputs, so there is no pattern.
    """
    if upsample == "transpose":
        return nn.ConvTranspose2d(width_in, width_out, 4, stride=2, padding=1)
    return nn.Sequential(
        nn.Upsample(scale_factor=2.0, mode="nearest"),
        nn.Conv2d(width_in, width_out, 3, padding=1),
    )
