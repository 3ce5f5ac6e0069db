"""Routes that take images in: /encode, /reconstruct, /score."""

from __future__ import annotations

import secrets
from typing import Annotated

import torch
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from app.codecs import image_to_tensor
from app.deps import InvertQuery, OutputDep, PreprocessQuery, ServedDep, SettingsDep
from app.errors import InvalidInput
from app.inputs import IMAGE_REQUEST_BODY, read_images
from app.openapi import IMAGE_ERRORS
from app.rendering import PNG_RESPONSE
from app.schemas import MAX_SEED, EncodeResponse, ImagesResponse, ScoreResponse
from app.settings import Settings
from contract.bounds import bits_per_dim, score_images
from contract.images import Invert, Preprocess

router = APIRouter(tags=["analyse"], responses=IMAGE_ERRORS)
SeedQuery = Annotated[int | None, Query(ge=0, le=MAX_SEED, description="seed for sampling")]


async def _image_batch(
    request: Request,
    served: ServedDep,
    settings: Settings,
    invert: Invert,
    preprocess: Preprocess | None,
) -> torch.Tensor:
    """The request's images as one batch [N,C,H,W] in [0, 1], decoded off the event loop."""
    raw = await read_images(request, settings)
    shape = served.model.image_shape
    return await run_in_threadpool(
        lambda: torch.stack(
            [
                image_to_tensor(data, shape, settings.max_image_pixels, invert, preprocess)
                for data in raw
            ]
        )
    )


@router.post(
    "/encode",
    summary="Encode images to the posterior mean and log-variance",
    response_model=EncodeResponse,
    openapi_extra=IMAGE_REQUEST_BODY,
)
async def encode(
    request: Request,
    served: ServedDep,
    settings: SettingsDep,
    seed: SeedQuery = None,
    invert: InvertQuery = Invert.auto,
    preprocess: PreprocessQuery = None,
) -> JSONResponse:
    """q(z|x) = N(mean, exp(logvar)) per image; with ?seed= also a sample z from it."""
    model = served.model
    x = await _image_batch(request, served, settings, invert, preprocess)
    mean, logvar = await served.worker.run(model, "encode", x)
    body = EncodeResponse(model=model.name, mean=mean.tolist(), logvar=logvar.tolist())
    headers = {}
    if seed is not None:
        noise = torch.randn(mean.shape, generator=torch.Generator().manual_seed(seed))
        body.z = (mean + torch.exp(0.5 * logvar) * noise).tolist()
        headers["X-Seed"] = str(seed)
    return JSONResponse(body.model_dump(exclude_none=True), headers=headers)


@router.post(
    "/reconstruct",
    summary="Reconstruct images through the posterior mean",
    response_model=ImagesResponse,
    responses=PNG_RESPONSE,
    openapi_extra=IMAGE_REQUEST_BODY,
)
async def reconstruct(
    request: Request,
    served: ServedDep,
    settings: SettingsDep,
    output: OutputDep,
    invert: InvertQuery = Invert.auto,
    preprocess: PreprocessQuery = None,
) -> Response:
    """decode(mean(x)) for each image: a PNG (grid) or JSON {model, images}."""
    model = served.model
    x = await _image_batch(request, served, settings, invert, preprocess)
    encoded = await served.worker.run(model, "forward", x, output.encoder())
    return output.respond(encoded, lambda images: {"model": model.name, "images": images})


@router.post(
    "/score",
    summary="Negative ELBO and importance-weighted NLL of images",
    response_model=ScoreResponse,
    openapi_extra=IMAGE_REQUEST_BODY,
)
async def score_route(
    request: Request,
    served: ServedDep,
    settings: SettingsDep,
    k: Annotated[int, Query(ge=1, description="importance samples")] = 100,
    seed: SeedQuery = None,
    invert: InvertQuery = Invert.auto,
    preprocess: PreprocessQuery = None,
) -> JSONResponse:
    """How digit-like is this? Lower is more typical; an outlier score. Nats per image."""
    model = served.model
    if k > settings.max_score_k:
        raise InvalidInput(f"k={k} is above the limit {settings.max_score_k} (VAE_MAX_SCORE_K)")
    used_seed = seed if seed is not None else secrets.randbelow(2**31)
    x = await _image_batch(request, served, settings, invert, preprocess)
    generator = torch.Generator().manual_seed(used_seed)
    nll, neg_elbo = await served.worker.call(
        model,
        lambda: score_images(model.module, x.to(model.device), model.input_transform, k, generator),
    )
    pixels = model.image_shape[0] * model.image_shape[1] * model.image_shape[2]
    bpd = bits_per_dim(nll, pixels).tolist() if model.input_transform == "dequantize" else None
    body = ScoreResponse(
        model=model.name,
        k=k,
        seed=used_seed,
        neg_elbo=neg_elbo.tolist(),
        nll=nll.tolist(),
        bits_per_dim=bpd,
    )
    return JSONResponse(body.model_dump(), headers={"X-Seed": str(used_seed)})
