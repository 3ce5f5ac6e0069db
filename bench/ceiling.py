"""The in-process compute ceiling: decode plus PNG with no HTTP, and the colour decode time."""

from __future__ import annotations

import sys
import time
from typing import Any

import torch

from bench.servers import COLOUR_WEIGHTS, REPO, WEIGHTS


def compute_ceiling(seconds: float = 3.0) -> dict[str, float]:
    """In-process, no HTTP: decode plus PNG per image (batches of 32), and for 64 images."""
    sys.path.insert(0, str(REPO))
    from app.codecs import images_to_base64, images_to_png

    module = torch.jit.load(str(WEIGHTS), map_location="cpu").eval()

    def rate(rows: int, encode: Any) -> float:
        z = torch.randn(rows, 32)
        calls, begun = 0, time.perf_counter()
        with torch.inference_mode():
            while time.perf_counter() - begun < seconds:
                images = module.decode(z)
                encode(images)
                calls += 1
        return calls / (time.perf_counter() - begun)

    per_image = rate(32, lambda images: [images_to_png(image[None]) for image in images])
    figures = {
        "images_per_s_decode_png_batch32": 32 * per_image,
        "decode64_json_per_s": rate(64, images_to_base64),
    }
    if COLOUR_WEIGHTS.is_file():
        colour = torch.jit.load(str(COLOUR_WEIGHTS), map_location="cpu").eval()
        z = torch.randn(32, int(colour.encode(torch.zeros(1, 3, 64, 64))[0].shape[1]))
        with torch.inference_mode():
            for _ in range(3):  # TorchScript's profiling executor specialises on early calls
                colour.decode(z)
            calls, begun = 0, time.perf_counter()
            while time.perf_counter() - begun < seconds:
                colour.decode(z)
                calls += 1
        figures["ms_per_64x64x3_decode_batch32"] = (
            1000 * (time.perf_counter() - begun) / (32 * calls)
        )
    return figures
