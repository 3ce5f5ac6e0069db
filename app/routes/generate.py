"""Routes that make images from latents: /sample, /decode, /interpolate, and their .json twins.

Each image route exists twice, so that every documented operation has one response type:
`/sample` answers a PNG (what curl and <img> want), `/sample.json` answers JSON with the seed,
latents and base64 PNGs (what a typed client wants). The routes are built from the settings,
so each limit (VAE_MAX_N, ...) is declared once, in the parameter or body field it bounds,
and FastAPI both enforces and documents it.
"""

# No `from __future__ import annotations`: the handlers are made inside build_router, and
# FastAPI must see their annotations as objects, not as names it cannot resolve.
import inspect
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import torch
from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.codecs import decode_base64, image_to_tensor
from app.deps import JsonBody, ServedDep, output_dependencies
from app.errors import InvalidInput
from app.latent_math import interpolate
from app.openapi import BODY_ERRORS, QUERY_ERRORS, image_response, json_response
from app.rendering import Output
from app.sampling import choose_prior
from app.schemas import (
    MAX_SEED,
    MAX_TEMPERATURE,
    DecodeOneRequest,
    DecodeRequest,
    ImagesResponse,
    InterpolateFromImages,
    InterpolateFromLatents,
    InterpolateResponse,
    Prior,
    SampleRequest,
    SampleResponse,
    request_bodies,
)
from app.settings import Settings

SEED_HEADERS = ("X-Seed", "X-Prior")


def _latent_batch(vectors: list[list[float]], latent_dim: int) -> torch.Tensor:
    """[N,D] from vectors whose count the body's declaration bounds; D depends on the model."""
    for index, vector in enumerate(vectors):
        if len(vector) != latent_dim:
            raise InvalidInput(
                f"latent {index} has length {len(vector)}; this model needs {latent_dim}"
            )
    return torch.tensor(vectors, dtype=torch.float32)  # [N,D]


async def _sample(served: ServedDep, request: SampleRequest, output: Output) -> Response:
    model = served.model
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    prior, prior_name = choose_prior(model, request)
    output.check_budget(request.n, model.image_shape)
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


async def _decode(
    served: ServedDep, body: DecodeRequest | DecodeOneRequest, output: Output
) -> Response:
    model = served.model
    vectors = body.latents if isinstance(body, DecodeRequest) else [body.latents]
    z = _latent_batch(vectors, model.latent_dim)
    output.check_budget(len(z), model.image_shape)
    encoded = await served.worker.run(model, "decode", z, output.encoder())
    return output.respond(encoded, lambda images: {"model": model.name, "images": images})


async def _interpolate(
    served: ServedDep,
    body: InterpolateFromLatents | InterpolateFromImages,
    output: Output,
    settings: Settings,
) -> Response:
    model = served.model
    output.check_budget(body.steps, model.image_shape)
    if isinstance(body, InterpolateFromLatents):
        endpoints = _latent_batch(body.latents, model.latent_dim)
    else:
        pictures = await run_in_threadpool(
            lambda: torch.stack(
                [
                    image_to_tensor(
                        decode_base64(text),
                        model.image_shape,
                        settings.max_image_pixels,
                        background=model.background,
                    )
                    for text in body.images
                ]
            )
        )
        endpoints, _ = await served.worker.run(model, "encode", pictures)
    path = interpolate(endpoints[0], endpoints[1], body.steps, str(body.method))  # [S,D]
    encoded = await served.worker.run(model, "decode", path, output.encoder(strip=True))
    return output.respond(
        encoded,
        lambda images: InterpolateResponse(
            model=model.name, latents=path.tolist(), images=images
        ).model_dump(),
    )


Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Response]])


def validates_body(declared: Any) -> Callable[[Endpoint], Endpoint]:
    """Have FastAPI read the `body` parameter as `declared`: the request model rebuilt with
    this server's limits (app.schemas.request_bodies). The handler's own annotation, the plain
    model, is what type checkers see."""

    def bind(endpoint: Endpoint) -> Endpoint:
        signature = inspect.signature(endpoint)
        parameters = [
            p.replace(annotation=Annotated[declared, Body()]) if p.name == "body" else p
            for p in signature.parameters.values()
        ]
        endpoint.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return endpoint

    return bind


@dataclass(frozen=True)
class Operation:
    """One generate operation; it is registered twice, as a PNG route and as its .json twin."""

    method: str
    path: str
    name: str  # the operationId stem: sample → samplePng, sampleJson
    summary: str
    description: str
    json_model: type[BaseModel]
    headers: tuple[str, ...] = ()


OPERATIONS = (
    Operation(
        "GET",
        "/sample",
        "sample",
        "Draw n samples from the prior",
        "Same seed, same device → the same bytes. The seed used is echoed in X-Seed, the prior "
        "in X-Prior.",
        SampleResponse,
        SEED_HEADERS,
    ),
    Operation(
        "POST",
        "/sample",
        "sampleFromBody",
        "Draw n samples from the prior, fields in a JSON body",
        "As GET /sample.",
        SampleResponse,
        SEED_HEADERS,
    ),
    Operation(
        "POST",
        "/decode",
        "decode",
        "Decode latent vectors [[D], ...] or one [D]",
        "D is the model's latent_dim (GET /models).",
        ImagesResponse,
    ),
    Operation(
        "POST",
        "/interpolate",
        "interpolate",
        "Interpolate between two latents or two images",
        "A strip of `steps` images from a to b, linear or slerp (White 2016); give either "
        "`latents` or `images`, two of them.",
        InterpolateResponse,
    ),
)


def build_router(settings: Settings) -> APIRouter:
    """The generate routes, with this server's limits in their declarations."""
    router = APIRouter(tags=["generate"])
    bodies = request_bodies(settings.max_n, settings.max_latents, settings.max_steps)
    outputs = output_dependencies(settings)

    async def sample_query(
        n: Annotated[
            int, Query(ge=1, le=settings.max_n, description="number of samples (VAE_MAX_N)")
        ] = 1,
        seed: Annotated[
            int | None, Query(ge=0, le=MAX_SEED, description="random if omitted")
        ] = None,
        temperature: Annotated[
            float, Query(gt=0, le=MAX_TEMPERATURE, allow_inf_nan=False, description="prior scale")
        ] = 1.0,
        digit: Annotated[
            int | None, Query(ge=0, le=9, description="sample this digit class")
        ] = None,
        label: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=200,
                description="sample this class (GET /models: labels); digit=3 is label=3",
            ),
        ] = None,
        prior: Annotated[
            Prior | None,
            Query(description="fitted (default when the model has one) or standard N(0, I)"),
        ] = None,
    ) -> SampleRequest:
        return SampleRequest(
            n=n, seed=seed, temperature=temperature, digit=digit, label=label, prior=prior
        )

    QueryRequest = Annotated[SampleRequest, Depends(sample_query)]

    def endpoints(output_of: Callable[..., Awaitable[Output]]) -> dict[str, Callable[..., Any]]:
        """The four handlers, answering as `output_of` says (PNG or JSON)."""
        Out = Annotated[Output, Depends(output_of)]

        async def sample(served: ServedDep, request: QueryRequest, output: Out) -> Response:
            return await _sample(served, request, output)

        @validates_body(bodies.sample)
        async def sample_from_body(served: ServedDep, body: SampleRequest, output: Out) -> Response:
            return await _sample(served, body, output)

        @validates_body(bodies.decode)
        async def decode(
            served: ServedDep, body: DecodeRequest | DecodeOneRequest, output: Out
        ) -> Response:
            return await _decode(served, body, output)

        @validates_body(bodies.interpolate)
        async def interpolate_route(
            served: ServedDep, body: InterpolateFromLatents | InterpolateFromImages, output: Out
        ) -> Response:
            return await _interpolate(served, body, output, settings)

        return {
            "sample": sample,
            "sampleFromBody": sample_from_body,
            "decode": decode,
            "interpolate": interpolate_route,
        }

    for as_png in (True, False):
        handlers = endpoints(outputs.png if as_png else outputs.json)
        for operation in OPERATIONS:
            errors = BODY_ERRORS if operation.method == "POST" else QUERY_ERRORS
            answer = image_response if as_png else json_response
            router.add_api_route(
                operation.path if as_png else f"{operation.path}.json",
                handlers[operation.name],
                methods=[operation.method],
                operation_id=operation.name + ("Png" if as_png else "Json"),
                summary=f"{operation.summary}: {'a PNG' if as_png else 'JSON'}",
                description=operation.description,
                dependencies=[JsonBody] if operation.method == "POST" else [],
                response_class=Response if as_png else JSONResponse,
                response_model=None if as_png else operation.json_model,
                responses={**errors, **answer(*operation.headers)},
            )
    return router
