"""Animations: /interpolate.gif and .webp (from two seeds by GET, from two latents or two images
by POST) and /walk.gif and .webp (a seamless loop through n samples).

An animation's frames are one decoded batch, the one /interpolate's strip tiles, encoded by
app.animation in the inference thread (or its encoder pool): it costs about what its strip
costs. The seeded GETs are fixed by their URL and cacheable (app.caching).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from torch import Tensor

from app.animation import MEDIA_TYPES, OCTETS, Animation, AnimationFormat
from app.bodies import INTERPOLATE_BODY, read_json, request_body
from app.caching import NO_STORE, fixed_by_url, not_modified, url_tag
from app.deps import Served, served
from app.fast_route import QueryModelRoute
from app.latent_math import interpolate, loop_path
from app.limits import enforce
from app.openapi import BODY_ERRORS, NOT_MODIFIED, QUERY_ERRORS, headers
from app.paths import body_path
from app.queries import AnimationOptions, InterpolateSeedsQuery, WalkQuery
from app.sampling import PriorRows, choose_prior, fresh_seed, make_prior_rows, seeded_ends

router = APIRouter(tags=["animate"], route_class=QueryModelRoute)
CACHE_HEADERS = ("ETag", "Cache-Control")
FROM_SEEDS_TEXT = (
    "From the sample of seed_a to the sample of seed_b (the images GET /sample?seed= gives), "
    "linear or slerp. Fixed by its URL: cacheable, with an ETag."
)
FROM_BODY_TEXT = (
    "From two latents or two images (the body of POST /interpolate); its frames are the "
    "tiles of that strip."
)
LIMITS_TEXT = (
    " At most VAE_MAX_FRAMES frames (bounce included) and VAE_MAX_ANIMATION_PIXELS pixels "
    "(frames × height × width after scale); over either is a 422 that names it."
)
WALK_TEXT = (
    "A loop through the n samples GET /sample?n=&seed= gives, slerp from each to the next and "
    "from the last back to the first. With a seed it is fixed by its URL: cacheable."
)


def _documented(
    format: AnimationFormat,
    text: str,
    errors: dict[int | str, Any],
    *header_names: str,
    cacheable: bool = False,
) -> dict[str, Any]:
    """The decorator's documentation of a route answering `format`; a `cacheable` one also
    declares its ETag, Cache-Control and 304."""
    if cacheable:
        header_names += CACHE_HEADERS
    answer = {
        200: {
            "description": f"an animated {format.upper()}",
            "content": {
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in (MEDIA_TYPES[format], OCTETS)
            },
            "headers": headers(*header_names),
        }
    }
    return {
        "response_class": Response,
        "description": text + LIMITS_TEXT,
        "responses": {**errors, **answer, **(NOT_MODIFIED if cacheable else {})},
    }


def _target(request: Request, options: AnimationOptions) -> Served:
    target = served(request, options.model)
    enforce(options, target.settings, "query")
    return target


async def _animate(
    target: Served,
    animation: Animation,
    path: Tensor | Callable[[], Tensor],
    frames: int,
    values: int,
    headers: dict[str, str],
    seeded: bool,
) -> Response:
    """Decode `frames` latents (or those `path` makes in the inference thread) into one file
    of `values` values (Animation.check_budget, already checked); `seeded` paths promise their
    bytes."""
    encoded = await target.run(
        "decode", path, animation.encode, size=frames, answer_values=values, exact=seeded
    )
    return Response(encoded, media_type=animation.media_type, headers=headers)


def _caching(
    request: Request, target: Served, query: AnimationOptions, animation: Animation, prior: str
) -> dict[str, str]:
    """A seeded animation's ETag and freshness; Accept may choose the media type."""
    tag = url_tag(request, target.model, query, prior=prior, form=animation.media_type)
    return fixed_by_url(request, target.settings, target.model, tag, negotiated=True)


def _animation(request: Request, format: AnimationFormat, options: AnimationOptions) -> Animation:
    """The animation asked for; as application/octet-stream when Accept prefers that (what
    generated clients read as bytes), like the PNG routes."""
    wanted = (request.headers.get("accept") or "").lower()
    octets = OCTETS in wanted and MEDIA_TYPES[format] not in wanted
    return Animation.of(format, options, OCTETS if octets else None)


async def _from_seeds(
    request: Request, query: InterpolateSeedsQuery, format: AnimationFormat
) -> Response:
    target = _target(request, query)
    model, animation = target.model, _animation(request, format, query)
    prior, prior_name = choose_prior(model, query)
    values = animation.check_budget(query.steps, model.image_shape, target.settings)
    caching = _caching(request, target, query, animation, prior_name)
    if (unchanged := not_modified(request, caching)) is not None:
        return unchanged

    def path() -> Tensor:  # [steps,D], in the inference thread
        ends = seeded_ends(prior, (query.seed_a, query.seed_b), query.temperature)
        return interpolate(ends[0], ends[1], query.steps, str(query.method))

    return await _animate(
        target, animation, path, query.steps, values, {**caching, "X-Prior": prior_name}, True
    )


async def _from_body(
    request: Request, query: AnimationOptions, format: AnimationFormat
) -> Response:
    body = await read_json(request, INTERPOLATE_BODY)
    target = _target(request, query)
    enforce(body, target.settings, "body")
    animation, model = _animation(request, format, query), target.model
    if not model.any_size:  # before any model work; a model of any size knows after the ends
        animation.check_budget(body.steps, model.image_shape, target.settings)
    path = await body_path(target, body)
    picture = model.picture_shape(tuple(path.shape[1:]))
    values = animation.check_budget(body.steps, picture, target.settings)
    return await _animate(target, animation, path, body.steps, values, {}, False)  # not cached


async def _walk(request: Request, query: WalkQuery, format: AnimationFormat) -> Response:
    target = _target(request, query)
    model, animation = target.model, _animation(request, format, query)
    prior, prior_name = choose_prior(model, query)
    frames = query.n * query.steps
    values = animation.check_budget(frames, model.image_shape, target.settings)
    seed = query.seed if query.seed is not None else fresh_seed()
    caching = dict(NO_STORE)
    if query.seed is not None:
        caching = _caching(request, target, query, animation, prior_name)
        if (unchanged := not_modified(request, caching)) is not None:
            return unchanged
    rows = PriorRows(prior=prior, n=query.n, seed=seed, temperature=query.temperature)

    def path() -> Tensor:  # [n·steps,D], in the inference thread
        (keys,) = make_prior_rows([rows])
        return loop_path(keys, query.steps)

    headers = {**caching, "X-Seed": str(seed), "X-Prior": prior_name}
    return await _animate(target, animation, path, frames, values, headers, True)


@router.get(
    "/interpolate.gif",
    operation_id="interpolateSeedsGif",
    summary="Animate from one seed's sample to another's: a GIF",
    **_documented("gif", FROM_SEEDS_TEXT, QUERY_ERRORS, "X-Prior", cacheable=True),
)
async def interpolate_seeds_gif(
    request: Request, query: Annotated[InterpolateSeedsQuery, Query()]
) -> Response:
    return await _from_seeds(request, query, "gif")


@router.get(
    "/interpolate.webp",
    operation_id="interpolateSeedsWebp",
    summary="Animate from one seed's sample to another's: a lossless WebP",
    **_documented("webp", FROM_SEEDS_TEXT, QUERY_ERRORS, "X-Prior", cacheable=True),
)
async def interpolate_seeds_webp(
    request: Request, query: Annotated[InterpolateSeedsQuery, Query()]
) -> Response:
    return await _from_seeds(request, query, "webp")


@router.post(
    "/interpolate.gif",
    operation_id="interpolateGif",
    summary="Animate between two latents or two images: a GIF",
    **_documented("gif", FROM_BODY_TEXT, BODY_ERRORS),
    openapi_extra=request_body("InterpolateBody"),
)
async def interpolate_gif(
    request: Request, query: Annotated[AnimationOptions, Query()]
) -> Response:
    return await _from_body(request, query, "gif")


@router.post(
    "/interpolate.webp",
    operation_id="interpolateWebp",
    summary="Animate between two latents or two images: a lossless WebP",
    **_documented("webp", FROM_BODY_TEXT, BODY_ERRORS),
    openapi_extra=request_body("InterpolateBody"),
)
async def interpolate_webp(
    request: Request, query: Annotated[AnimationOptions, Query()]
) -> Response:
    return await _from_body(request, query, "webp")


@router.get(
    "/walk.gif",
    operation_id="walkGif",
    summary="A seamless loop through n samples: a GIF",
    **_documented("gif", WALK_TEXT, QUERY_ERRORS, "X-Seed", "X-Prior", cacheable=True),
)
async def walk_gif(request: Request, query: Annotated[WalkQuery, Query()]) -> Response:
    return await _walk(request, query, "gif")


@router.get(
    "/walk.webp",
    operation_id="walkWebp",
    summary="A seamless loop through n samples: a lossless WebP",
    **_documented("webp", WALK_TEXT, QUERY_ERRORS, "X-Seed", "X-Prior", cacheable=True),
)
async def walk_webp(request: Request, query: Annotated[WalkQuery, Query()]) -> Response:
    return await _walk(request, query, "webp")
