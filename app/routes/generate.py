"""Routes that make images from latents: /sample, /decode, /interpolate."""

from __future__ import annotations

import secrets
from typing import Annotated

import torch
from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.artifacts import LoadedModel
from app.codecs import decode_base64, image_to_tensor
from app.deps import JsonBody, OutputDep, ServedDep, SettingsDep
from app.errors import InvalidInput
from app.latent_math import interpolate
from app.openapi import BODY_ERRORS
from app.rendering import PNG_RESPONSE
from app.schemas import (
    MAX_SEED,
    MAX_TEMPERATURE,
    DecodeRequest,
    InterpolateRequest,
    InterpolateResponse,
    PriorName,
    SampleRequest,
    SampleResponse,
)
from app.settings import Settings
from contract.priors import Prior

router = APIRouter(tags=["generate"], responses=BODY_ERRORS)


def _latent_batch(vectors: list[list[float]], latent_dim: int, limit: int) -> torch.Tensor:
    if not vectors:
        raise InvalidInput("no latent vectors given")
    if len(vectors) > limit:
        raise InvalidInput(f"{len(vectors)} latent vectors; the limit is {limit} (VAE_MAX_LATENTS)")
    for index, vector in enumerate(vectors):
        if len(vector) != latent_dim:
            raise InvalidInput(
                f"latent {index} has length {len(vector)}; this model needs {latent_dim}"
            )
    return torch.tensor(vectors, dtype=torch.float32)  # [N,D]


def _choose_prior(model: LoadedModel, request: SampleRequest) -> tuple[Prior, str]:
    """The prior the request names (422 when the model has none by that name), and its name."""
    priors = model.priors
    if request.digit is not None:
        if request.prior == "standard":
            raise InvalidInput(
                "digit= samples from the per-class fitted mixtures; leave prior unset "
                "or use prior=fitted"
            )
        mixture = priors.classes.get(str(request.digit))
        if mixture is None:
            raise InvalidInput(
                f"model {model.name!r} has no class prior for digit {request.digit}, "
                "so digit= is not available"
            )
        return mixture, "class"
    name = request.prior or priors.names[0]
    try:
        return priors.get(name), name
    except KeyError:
        raise InvalidInput(
            f"model {model.name!r} has no {name!r} prior; choose one of: {', '.join(priors.names)}"
        ) from None


async def _sample(
    served: ServedDep, request: SampleRequest, output: OutputDep, settings: Settings
) -> Response:
    model = served.model
    if request.n > settings.max_n:
        raise InvalidInput(f"n={request.n} is above the limit {settings.max_n} (VAE_MAX_N)")
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    prior, prior_name = _choose_prior(model, request)
    drawn: list[torch.Tensor] = []

    def draw() -> torch.Tensor:
        """z [n,D], drawn in the inference thread from a generator seeded by the request."""
        z = prior.sample(request.n, torch.Generator().manual_seed(seed), request.temperature)
        drawn.append(z)
        return z

    encoded = await served.worker.run(model, "decode", draw, output.encoder(), size=request.n)
    return output.respond(
        encoded,
        lambda images: SampleResponse(
            model=model.name, seed=seed, prior=prior_name, latents=drawn[0].tolist(), images=images
        ).model_dump(),
        headers={"X-Seed": str(seed), "X-Prior": prior_name},
    )


@router.get(
    "/sample",
    summary="Draw n samples from the prior (PNG grid or JSON)",
    response_model=SampleResponse,
    responses=PNG_RESPONSE,
)
async def sample_get(
    served: ServedDep,
    output: OutputDep,
    settings: SettingsDep,
    n: Annotated[int, Query(ge=1, description="number of samples")] = 1,
    seed: Annotated[int | None, Query(ge=0, le=MAX_SEED, description="random if omitted")] = None,
    temperature: Annotated[
        float, Query(gt=0, le=MAX_TEMPERATURE, allow_inf_nan=False, description="prior scale")
    ] = 1.0,
    digit: Annotated[int | None, Query(ge=0, le=9, description="sample this digit class")] = None,
    prior: Annotated[
        PriorName | None,
        Query(description="fitted (default when the model has one) or standard N(0, I)"),
    ] = None,
) -> Response:
    """Same seed, same device → the same bytes. The seed used is echoed in X-Seed, the prior
    in X-Prior."""
    request = SampleRequest(n=n, seed=seed, temperature=temperature, digit=digit, prior=prior)
    return await _sample(served, request, output, settings)


@router.post(
    "/sample",
    summary="Draw n samples from the prior, fields in a JSON body",
    dependencies=[JsonBody],
    response_model=SampleResponse,
    responses=PNG_RESPONSE,
)
async def sample_post(
    served: ServedDep, body: SampleRequest, output: OutputDep, settings: SettingsDep
) -> Response:
    """As GET /sample, with the fields in the body."""
    return await _sample(served, body, output, settings)


@router.post(
    "/decode",
    summary="Decode latent vectors into images",
    dependencies=[JsonBody],
    response_model=SampleResponse.__base__,
    responses=PNG_RESPONSE,
)
async def decode(
    served: ServedDep, body: DecodeRequest, output: OutputDep, settings: SettingsDep
) -> Response:
    """One [D] vector or a list of them → one PNG, a grid, or JSON {model, images}."""
    model = served.model
    z = _latent_batch(body.latents, model.latent_dim, settings.max_latents)
    encoded = await served.worker.run(model, "decode", z, output.encoder())
    return output.respond(encoded, lambda images: {"model": model.name, "images": images})


@router.post(
    "/interpolate",
    summary="Interpolate between two latents or two images",
    dependencies=[JsonBody],
    response_model=InterpolateResponse,
    responses=PNG_RESPONSE,
)
async def interpolate_route(
    served: ServedDep, body: InterpolateRequest, output: OutputDep, settings: SettingsDep
) -> Response:
    """A strip of `steps` images from a to b, linear or slerp (White 2016)."""
    model = served.model
    if (body.latents is None) == (body.images is None):
        raise InvalidInput("give exactly one of 'latents' or 'images', each with two items")
    if body.steps > settings.max_steps:
        raise InvalidInput(
            f"steps={body.steps} is above the limit {settings.max_steps} (VAE_MAX_STEPS)"
        )
    ends = body.latents if body.latents is not None else body.images
    if ends is None or len(ends) != 2:
        raise InvalidInput("interpolation needs exactly two latents or two images")
    if body.latents is not None:
        endpoints = _latent_batch(body.latents, model.latent_dim, 2)
    else:
        pictures = await run_in_threadpool(
            lambda: torch.stack(
                [
                    image_to_tensor(
                        decode_base64(text), model.image_shape, settings.max_image_pixels
                    )
                    for text in body.images or []
                ]
            )
        )
        endpoints, _ = await served.worker.run(model, "encode", pictures)
    path = interpolate(endpoints[0], endpoints[1], body.steps, body.method)  # [S,D]
    encoded = await served.worker.run(model, "decode", path, output.encoder(strip=True))
    return output.respond(
        encoded,
        lambda images: InterpolateResponse(
            model=model.name, latents=path.tolist(), images=images
        ).model_dump(),
    )
