"""Routes that make images from latents: /sample, /decode, /interpolate, and their .json twins.

Each image route exists twice, so that every documented operation has one response type:
`/sample` answers a PNG (what curl and <img> want), `/sample.json` answers JSON with the seed,
latents and base64 PNGs (what a typed client wants). Each pair is two decorated handlers over
one function. The limits from the settings (VAE_MAX_N, ...) are checked by app.limits and
documented from the same table by app.openapi.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from torch import Tensor

from app.bodies import (
    DECODE_BODY,
    INTERPOLATE_BODY,
    SAMPLE_BODY,
    latents_body,
    read_json,
    request_body,
)
from app.caching import NO_STORE, fixed_by_url, not_modified, url_tag
from app.deps import Served, served
from app.fast_route import QueryModelRoute
from app.latents import NPY, is_npy, latent_tensor, npy_bytes, read_npy
from app.limits import enforce
from app.openapi import (
    BODY_ERRORS,
    NOT_MODIFIED,
    NPY_RESPONSE,
    QUERY_ERRORS,
    image_response,
    json_response,
)
from app.paths import body_path
from app.queries import JsonOptions, NpyOptions, PngOptions, SampleJsonQuery, SamplePngQuery
from app.rendering import Output, check_output_budget
from app.sampling import PriorRows, choose_prior, fresh_seed
from app.schemas import (
    DecodeRequest,
    ImagesResponse,
    InterpolateFromImages,
    InterpolateFromLatents,
    InterpolateResponse,
    SampleRequest,
    SampleResponse,
)

router = APIRouter(tags=["generate"], route_class=QueryModelRoute)
SEED_HEADERS = ("X-Seed", "X-Prior")
CACHE_HEADERS = ("ETag", "Cache-Control")
SAMPLE_TEXT = (
    "Same seed, same device → the same bytes. The seed used is echoed in X-Seed, the prior "
    "in X-Prior."
)
DECODE_TEXT = (
    "D is the model's latent_dim (GET /models); a model with latent_shape [c, h, w] also takes "
    "[c][h][w] grids, and one that takes any picture size any grid whose picture it takes. The "
    "latents may also come as numpy's .npy (Content-Type: application/x-npy; float16 or "
    "float32, [N, D] or [N, c, h, w])."
)
NPY_TEXT = "float32, or float16 with ?dtype=float16."
INTERPOLATE_TEXT = (
    "A strip of `steps` images from a to b, linear or slerp (White 2016); give either "
    "`latents` or `images`, two of them."
)


def _sample_caching(
    http: Request, served: Served, query: SampleRequest, output: Output, prior_name: str
) -> dict[str, str]:
    """Seeded: an ETag and a year's freshness; unseeded: no-store (app.caching)."""
    if query.seed is None:
        return dict(NO_STORE)
    tag = url_tag(http, served.model, query, prior=prior_name, form=output.form)
    negotiated = isinstance(query, PngOptions)
    return fixed_by_url(http, served.settings, served.model, tag, negotiated)


async def _sample(
    served: Served, request: SampleRequest, output: Output, http: Request | None = None
) -> Response:
    """`http`: the GET whose URL holds `request` (cacheable when seeded); None for a POST."""
    model = served.model
    seed = request.seed if request.seed is not None else fresh_seed()
    prior, prior_name = choose_prior(model, request)
    values = output.check_budget(request.n, model.image_shape)
    headers = {}
    if http is not None:
        headers = _sample_caching(http, served, request, output, prior_name)
        if (unchanged := not_modified(http, headers)) is not None:
            return unchanged  # before any model work
    # z is drawn in the inference thread, from a generator seeded by the request.
    rows = PriorRows(prior=prior, n=request.n, seed=seed, temperature=request.temperature)
    encoded = await served.run("decode", rows, output.encoder(), answer_values=values, exact=True)
    return output.respond(
        encoded,
        lambda images: {  # SampleResponse
            "model": model.name,
            "images": images,
            "seed": seed,
            "prior": prior_name,
            "latents": rows.latents.tolist() if rows.latents is not None else [],
        },
        headers={**headers, "X-Seed": str(seed), "X-Prior": prior_name},
    )


async def _latents_of(request: Request) -> tuple[Any, BaseModel | None]:
    """What a /decode body sends: a .npy array (Content-Type: application/x-npy), or the
    latents of the JSON body (with the body, for its limits)."""
    if is_npy(request):
        return read_npy(await request.body()), None
    body = await read_json(request, DECODE_BODY)
    return (body.latents if isinstance(body, DecodeRequest) else [body.latents]), body


def _decoded_latents(served: Served, values: Any) -> tuple[Tensor, tuple[int, int, int]]:
    """The latents as decode takes them, and the picture each decodes to."""
    z = latent_tensor(served.model, values, served.settings.max_latents)
    return z, served.model.picture_shape(tuple(z.shape[1:]))


async def _decode(served: Served, latents: Any, output: Output) -> Response:
    model = served.model
    z, picture = _decoded_latents(served, latents)
    values = output.check_budget(len(z), picture)
    encoded = await served.run("decode", z, output.encoder(), answer_values=values)
    return output.respond(encoded, lambda images: {"model": model.name, "images": images})


async def _interpolate(
    served: Served, body: InterpolateFromLatents | InterpolateFromImages, output: Output
) -> Response:
    model = served.model
    if not model.any_size:  # before any model work; a model of any size knows after the ends
        output.check_budget(body.steps, model.image_shape)
    path = await body_path(served, body)  # [S, ...] as decode takes it
    values = output.check_budget(body.steps, model.picture_shape(tuple(path.shape[1:])))
    encoded = await served.run("decode", path, output.encoder(strip=True), answer_values=values)
    return output.respond(
        encoded,
        lambda images: {"model": model.name, "images": images, "latents": path.flatten(1).tolist()},
    )


def _prepare(request: Request, options: JsonOptions, *bodies: BaseModel) -> tuple[Served, Output]:
    """The model and the answer's form a request asks for, its limits checked."""
    target = served(request, options.model)
    settings = target.settings
    enforce(options, settings, "query")
    for body in bodies:
        enforce(body, settings, "body")
    accept = request.headers.get("accept")
    return target, options.output(accept, settings.max_output_values)


@router.get(
    "/sample",
    operation_id="samplePng",
    summary="Draw n samples from the prior: a PNG",
    description=SAMPLE_TEXT,
    response_class=Response,
    responses={**QUERY_ERRORS, **image_response(*SEED_HEADERS, *CACHE_HEADERS), **NOT_MODIFIED},
)
async def sample_png(request: Request, query: Annotated[SamplePngQuery, Query()]) -> Response:
    target, output = _prepare(request, query)
    return await _sample(target, query, output, request)


@router.get(
    "/sample.json",
    operation_id="sampleJson",
    summary="Draw n samples from the prior: JSON",
    description=SAMPLE_TEXT,
    response_model=SampleResponse,
    responses={**QUERY_ERRORS, **json_response(*SEED_HEADERS, *CACHE_HEADERS), **NOT_MODIFIED},
)
async def sample_json(request: Request, query: Annotated[SampleJsonQuery, Query()]) -> Response:
    target, output = _prepare(request, query)
    return await _sample(target, query, output, request)


@router.post(
    "/sample",
    operation_id="sampleFromBodyPng",
    summary="Draw n samples from the prior, fields in a JSON body: a PNG",
    description="As GET /sample.",
    response_class=Response,
    responses={**BODY_ERRORS, **image_response(*SEED_HEADERS)},
    openapi_extra=request_body("SampleRequest"),
)
async def sample_from_body_png(request: Request, query: Annotated[PngOptions, Query()]) -> Response:
    body = await read_json(request, SAMPLE_BODY)
    target, output = _prepare(request, query, body)
    return await _sample(target, body, output)


@router.post(
    "/sample.json",
    operation_id="sampleFromBodyJson",
    summary="Draw n samples from the prior, fields in a JSON body: JSON",
    description="As GET /sample.",
    response_model=SampleResponse,
    responses={**BODY_ERRORS, **json_response(*SEED_HEADERS)},
    openapi_extra=request_body("SampleRequest"),
)
async def sample_from_body_json(
    request: Request, query: Annotated[JsonOptions, Query()]
) -> Response:
    body = await read_json(request, SAMPLE_BODY)
    target, output = _prepare(request, query, body)
    return await _sample(target, body, output)


@router.post(
    "/decode",
    operation_id="decodePng",
    summary="Decode latent vectors [[D], ...] or one [D]: a PNG",
    description=DECODE_TEXT,
    response_class=Response,
    responses={**BODY_ERRORS, **image_response()},
    openapi_extra=latents_body("DecodeBody"),
)
async def decode_png(request: Request, query: Annotated[PngOptions, Query()]) -> Response:
    latents, body = await _latents_of(request)
    target, output = _prepare(request, query, *([body] if body is not None else []))
    return await _decode(target, latents, output)


@router.post(
    "/decode.json",
    operation_id="decodeJson",
    summary="Decode latent vectors [[D], ...] or one [D]: JSON",
    description=DECODE_TEXT,
    response_model=ImagesResponse,
    responses={**BODY_ERRORS, **json_response()},
    openapi_extra=latents_body("DecodeBody"),
)
async def decode_json(request: Request, query: Annotated[JsonOptions, Query()]) -> Response:
    latents, body = await _latents_of(request)
    target, output = _prepare(request, query, *([body] if body is not None else []))
    return await _decode(target, latents, output)


@router.post(
    "/decode.npy",
    operation_id="decodeNpy",
    summary="Decode latents to pictures: a .npy tensor [N, C, H, W] in [0, 1]",
    description=DECODE_TEXT + " " + NPY_TEXT,
    response_class=Response,
    responses={**BODY_ERRORS, 200: NPY_RESPONSE},
    openapi_extra=latents_body("DecodeBody"),
)
async def decode_npy(request: Request, query: Annotated[NpyOptions, Query()]) -> Response:
    latents, body = await _latents_of(request)
    target = served(request, query.model)
    if body is not None:
        enforce(body, target.settings, "body")
    z, picture = _decoded_latents(target, latents)
    check_output_budget(len(z), picture, 1, target.settings.max_output_values)
    images = await target.run("decode", z)
    return Response(npy_bytes(images, query.dtype), media_type=NPY)


@router.post(
    "/interpolate",
    operation_id="interpolatePng",
    summary="Interpolate between two latents or two images: a PNG",
    description=INTERPOLATE_TEXT,
    response_class=Response,
    responses={**BODY_ERRORS, **image_response()},
    openapi_extra=request_body("InterpolateBody"),
)
async def interpolate_png(request: Request, query: Annotated[PngOptions, Query()]) -> Response:
    body = await read_json(request, INTERPOLATE_BODY)
    target, output = _prepare(request, query, body)
    return await _interpolate(target, body, output)


@router.post(
    "/interpolate.json",
    operation_id="interpolateJson",
    summary="Interpolate between two latents or two images: JSON",
    description=INTERPOLATE_TEXT,
    response_model=InterpolateResponse,
    responses={**BODY_ERRORS, **json_response()},
    openapi_extra=request_body("InterpolateBody"),
)
async def interpolate_json(request: Request, query: Annotated[JsonOptions, Query()]) -> Response:
    body = await read_json(request, INTERPOLATE_BODY)
    target, output = _prepare(request, query, body)
    return await _interpolate(target, body, output)
