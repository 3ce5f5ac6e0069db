"""What a peer needs from the artifact, read the way any user would: torch.jit.load, plus the
metadata.json inside the archive for the image shape (no vae-serve code)."""

from __future__ import annotations

import io
import json

import numpy as np
import torch
from PIL import Image


def load(path: str) -> tuple[torch.jit.ScriptModule, tuple[int, int, int], int]:
    """(module, image shape [C,H,W], latent size D) of an artifact."""
    files = {"metadata.json": ""}
    module = torch.jit.load(path, map_location="cpu", _extra_files=files).eval()
    metadata = json.loads(files["metadata.json"])
    shape = tuple(int(v) for v in metadata["image_shape"])
    return module, shape, int(metadata["latent_dim"])  # type: ignore[return-value]


def png(image: torch.Tensor) -> bytes:
    """One image [C,H,W] in [0, 1] → PNG bytes, grey or RGB."""
    pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    array = pixels[0] if pixels.shape[0] == 1 else np.ascontiguousarray(pixels.transpose(1, 2, 0))
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()
