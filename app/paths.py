"""The latent paths requests ask for: the ends a body gives (latents, or images encoded) and
the path between them, for /interpolate and its animations alike."""

from __future__ import annotations

from torch import Tensor

from app.codecs import decode_base64
from app.deps import Served
from app.inputs import decode_images
from app.latent_math import interpolate
from app.latents import latent_tensor
from app.schemas import InterpolateFromImages, InterpolateFromLatents


async def _ends(served: Served, body: InterpolateFromLatents | InterpolateFromImages) -> Tensor:
    """[2, ...] as decode takes them: the body's two latents, or its two images' posterior
    means."""
    model = served.model
    if isinstance(body, InterpolateFromLatents):
        return latent_tensor(model, body.latents)
    pictures = await decode_images(served, [decode_base64(text) for text in body.images])
    means, _ = await served.run("encode", pictures)
    return means


async def body_path(served: Served, body: InterpolateFromLatents | InterpolateFromImages) -> Tensor:
    """[steps, ...]: from the body's end A to its end B, linear or slerp."""
    ends = await _ends(served, body)
    return interpolate(ends[0], ends[1], body.steps, str(body.method))
