"""The latent paths requests ask for: the ends a body gives (latents, or images encoded) and
the path between them, for /interpolate and its animations alike."""

from __future__ import annotations

import torch
from torch import Tensor

from app.codecs import decode_base64
from app.deps import Served
from app.errors import InvalidInput
from app.inputs import decode_images
from app.latent_math import interpolate
from app.schemas import InterpolateFromImages, InterpolateFromLatents


def latent_batch(vectors: list[list[float]], latent_dim: int) -> Tensor:
    """[N,D] from vectors whose count the body's declaration bounds; D depends on the model."""
    for index, vector in enumerate(vectors):
        if len(vector) != latent_dim:
            raise InvalidInput(
                f"latent {index} has length {len(vector)}; this model needs {latent_dim}"
            )
    return torch.tensor(vectors, dtype=torch.float32)  # [N,D]


async def _ends(served: Served, body: InterpolateFromLatents | InterpolateFromImages) -> Tensor:
    """[2,D]: the body's two latents, or the posterior means of its two images."""
    model = served.model
    if isinstance(body, InterpolateFromLatents):
        return latent_batch(body.latents, model.latent_dim)
    pictures = await decode_images(served, [decode_base64(text) for text in body.images])
    means, _ = await served.run("encode", pictures)
    return means


async def body_path(served: Served, body: InterpolateFromLatents | InterpolateFromImages) -> Tensor:
    """[steps,D]: from the body's end A to its end B, linear or slerp."""
    ends = await _ends(served, body)
    return interpolate(ends[0], ends[1], body.steps, str(body.method))
