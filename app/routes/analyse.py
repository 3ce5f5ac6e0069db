"""Routes that take images in: /encode, /reconstruct (and /reconstruct.json), /score.

Like app.routes.generate: one query model per route, the settings' limits from app.limits.
"""

from __future__ import annotations

from typing import Annotated

import torch
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from torch import Tensor

from app.artifacts import LoadedModel
from app.deps import Served, served
from app.errors import InvalidInput
from app.fast_route import QueryModelRoute
from app.inputs import IMAGE_REQUEST_BODY, decode_images, read_images
from app.latents import NPY, is_npy, npy_bytes, picture_tensor, read_npy
from app.limits import enforce
from app.openapi import BODY_ERRORS, NPY_RESPONSE, errors, image_response, json_response
from app.queries import (
    EncodeNpyQuery,
    EncodeQuery,
    ImageOptions,
    ReconstructJsonQuery,
    ReconstructPngQuery,
    ScoreQuery,
)
from app.rendering import Output
from app.sampling import fresh_seed
from app.schemas import EncodeResponse, ImagesResponse, ScoreResponse
from contract.bounds import bits_per_dim, reparameterize, score_images
from contract.images import Invert, preprocess_choices

router = APIRouter(tags=["analyse"], responses=BODY_ERRORS, route_class=QueryModelRoute)


async def _image_batch(request: Request, options: ImageOptions) -> tuple[Served, torch.Tensor]:
    """The model, and the request's images read as the query says: one batch [N,C,H,W] in
    [0, 1], decoded off the event loop."""
    target = served(request, options.model)
    model, settings = target.model, target.settings
    enforce(options, settings, "query")
    invert, preprocess = options.invert, options.preprocess
    shape = model.image_shape
    choices = preprocess_choices(shape[0])
    if preprocess is not None and preprocess not in choices:
        raise InvalidInput(
            f"preprocess={preprocess} is for grey ink-on-paper models; model {model.name!r} "
            f"takes preprocess= {', '.join(choices)}"
        )
    if shape[0] == 3 and invert != Invert.auto:
        raise InvalidInput(f"invert= is for grey models; model {model.name!r} takes auto only")
    if is_npy(request):  # a tensor of pictures, as a pipeline holds them
        array = read_npy(await request.body())
        return target, picture_tensor(model, array, settings.max_request_pixels)
    raw = await read_images(request, settings)
    return target, await decode_images(target, raw, invert, preprocess)


async def _encoded(
    request: Request, query: EncodeQuery
) -> tuple[Served, Tensor, Tensor, Tensor | None]:
    """The posterior means and log-variances of the request's pictures, [N, ...] each, and a
    sample z with ?seed=."""
    target, x = await _image_batch(request, query)
    mean, logvar = await target.run("encode", x)
    z = None
    if query.seed is not None:
        noise = torch.randn(mean.shape, generator=torch.Generator().manual_seed(query.seed))
        z = reparameterize(mean, logvar, noise)
    return target, mean, logvar, z


def _grid(model: LoadedModel, latents: Tensor) -> list[int] | None:
    """The grid one latent of `latents` is: its own shape (any size), the model's, or None."""
    if latents.dim() == 4:
        return list(latents.shape[1:])
    return list(model.latent_shape) if model.latent_shape is not None else None


@router.post(
    "/encode",
    operation_id="encode",
    summary="Encode images to the posterior mean and log-variance",
    response_model=EncodeResponse,
    responses=json_response("X-Seed"),
    openapi_extra=IMAGE_REQUEST_BODY,
)
async def encode(request: Request, query: Annotated[EncodeQuery, Query()]) -> JSONResponse:
    """q(z|x) = N(mean, exp(logvar)) per image; with ?seed= also a sample z from it (and
    the X-Seed header). A model with a latent grid says it in `latent_shape`."""
    target, mean, logvar, z = await _encoded(request, query)
    body = EncodeResponse(
        model=target.model.name,
        mean=mean.flatten(1).tolist(),
        logvar=logvar.flatten(1).tolist(),
        z=z.flatten(1).tolist() if z is not None else None,
        latent_shape=_grid(target.model, mean),
    )
    headers = {"X-Seed": str(query.seed)} if query.seed is not None else {}
    return JSONResponse(body.model_dump(exclude_none=True), headers=headers)


@router.post(
    "/encode.npy",
    operation_id="encodeNpy",
    summary="Encode images to their latents: a .npy tensor",
    description="The posterior means [N, c, h, w] (a grid model) or [N, D], or with ?seed= a "
    "sample z ~ q(z|x), as numpy's .npy (float32, or float16 with ?dtype=). Pictures may also "
    "come as a .npy [N, C, H, W] in [0, 1] (Content-Type: application/x-npy).",
    response_class=Response,
    responses={200: NPY_RESPONSE, **errors(400, 401, 404, 413, 415, 422, 429, 503, 504)},
    openapi_extra=IMAGE_REQUEST_BODY,
)
async def encode_npy(request: Request, query: Annotated[EncodeNpyQuery, Query()]) -> Response:
    target, mean, _, z = await _encoded(request, query)
    latents = z if z is not None else mean
    grid = _grid(target.model, latents)
    shaped = latents.reshape(len(latents), *grid) if grid is not None else latents
    headers = {"X-Seed": str(query.seed)} if query.seed is not None else {}
    return Response(npy_bytes(shaped, query.dtype), media_type=NPY, headers=headers)


async def _reconstruct(request: Request, query: ImageOptions, output: Output) -> Response:
    target, x = await _image_batch(request, query)
    model = target.model
    channels, height, width = (int(side) for side in x.shape[1:])
    values = output.check_budget(len(x), (channels, height, width))  # the pictures' own size
    encoded = await target.run("forward", x, output.encoder(), answer_values=values)
    return output.respond(encoded, lambda images: {"model": model.name, "images": images})


def _output(request: Request, query: ReconstructPngQuery | ReconstructJsonQuery) -> Output:
    max_values = request.app.state.settings.max_output_values
    return query.output(request.headers.get("accept"), max_values)


@router.post(
    "/reconstruct",
    operation_id="reconstructPng",
    summary="Reconstruct images through the posterior mean: a PNG (a grid for several)",
    description="decode(mean(x)) for each image.",
    response_class=Response,
    responses=image_response(),
    openapi_extra=IMAGE_REQUEST_BODY,
)
async def reconstruct_png(
    request: Request, query: Annotated[ReconstructPngQuery, Query()]
) -> Response:
    return await _reconstruct(request, query, _output(request, query))


@router.post(
    "/reconstruct.json",
    operation_id="reconstructJson",
    summary="Reconstruct images through the posterior mean: JSON {model, images}",
    description="decode(mean(x)) for each image.",
    response_model=ImagesResponse,
    responses=json_response(),
    openapi_extra=IMAGE_REQUEST_BODY,
)
async def reconstruct_json(
    request: Request, query: Annotated[ReconstructJsonQuery, Query()]
) -> Response:
    return await _reconstruct(request, query, _output(request, query))


@router.post(
    "/score",
    operation_id="score",
    summary="Negative ELBO and importance-weighted NLL of images",
    response_model=ScoreResponse,
    responses=json_response("X-Seed"),
    openapi_extra=IMAGE_REQUEST_BODY,
)
async def score(request: Request, query: Annotated[ScoreQuery, Query()]) -> JSONResponse:
    """How typical is this image? Lower is more typical; an outlier score. Nats per image."""
    target = served(request, query.model)
    if not target.model.has_likelihood:
        raise InvalidInput(
            f"model {target.model.name!r} has no likelihood: its decoder gives a picture, not "
            "a distribution over pictures, so it cannot say how likely one is"
        )
    target, x = await _image_batch(request, query)
    model, k = target.model, query.k
    used_seed = query.seed if query.seed is not None else fresh_seed()
    generator = torch.Generator().manual_seed(used_seed)
    nll, neg_elbo = await target.call(
        lambda: score_images(model.module, x.to(model.device), model.input_transform, k, generator)
    )
    pixels = x[0].numel()
    bpd = bits_per_dim(nll, pixels).tolist() if model.input_transform == "dequantize" else None
    body = ScoreResponse(
        model=model.name,
        k=k,
        seed=used_seed,
        neg_elbo=neg_elbo.tolist(),
        nll=nll.tolist(),
        bits_per_dim=bpd,
        percentile=model.percentile(nll.tolist()),
    )
    return JSONResponse(body.model_dump(), headers={"X-Seed": str(used_seed)})
