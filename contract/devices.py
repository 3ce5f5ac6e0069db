"""Where models run: one rule for the trainer and the service."""

from __future__ import annotations

import torch


def resolve_device(requested: str) -> torch.device:
    """`auto` → CUDA when available, else CPU. Raises ValueError for a bad name, or for CUDA
    asked of a machine without a GPU."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise ValueError(f"{requested!r} is not a device (auto, cpu, cuda, cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {requested!r} requested but no CUDA GPU is available here")
    return device
