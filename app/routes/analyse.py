"""Routes that take images in: /encode, /reconstruct (and /reconstruct.json), /score.

Built from the settings, like app.routes.generate, so that each limit is declared once.
"""

# No `from __future__ import annotations`: see app.routes.generate.
import secrets
from typing import Annotated

import torch
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from app.codecs import image_to_tensor
from app.deps import InvertQuery, PreprocessQuery, ServedDep, output_dependencies
from app.errors import InvalidInput
from app.inputs import IMAGE_REQUEST_BODY, read_images
from app.openapi import IMAGE_ERRORS, image_response, json_response
from app.rendering import Output
from app.schemas import MAX_SEED, EncodeResponse, ImagesResponse, ScoreResponse
from app.settings import Settings
from contract.bounds import bits_per_dim, score_images
from contract.images import Invert, Preprocess, preprocess_choices

SeedQuery = Annotated[int | None, Query(ge=0, le=MAX_SEED, description="seed for sampling")]


async def _image_batch(
    request: Request,
    served: ServedDep,
    settings: Settings,
    invert: Invert,
    preprocess: Preprocess | None,
) -> torch.Tensor:
    """The request's images as one batch [N,C,H,W] in [0, 1], decoded off the event loop."""
    model = served.model
    shape, background = model.image_shape, model.background
    choices = preprocess_choices(shape[0])
    if preprocess is not None and preprocess not in choices:
        raise InvalidInput(
            f"preprocess={preprocess} is for grey ink-on-paper models; model {model.name!r} "
            f"takes preprocess= {', '.join(choices)}"
        )
    if shape[0] == 3 and invert != Invert.auto:
        raise InvalidInput(f"invert= is for grey models; model {model.name!r} takes auto only")
    raw = await read_images(request, settings)
    return await run_in_threadpool(
        lambda: torch.stack(
            [
                image_to_tensor(
                    data, shape, settings.max_image_pixels, invert, preprocess, background
                )
                for data in raw
            ]
        )
    )


def build_router(settings: Settings) -> APIRouter:
    """The analyse routes, with this server's limits in their declarations."""
    router = APIRouter(tags=["analyse"], responses=IMAGE_ERRORS)
    body = IMAGE_REQUEST_BODY
    outputs = output_dependencies(settings)

    async def image_batch(
        request: Request,
        served: ServedDep,
        invert: InvertQuery = Invert.auto,
        preprocess: PreprocessQuery = None,
    ) -> torch.Tensor:
        """The request's images, read as the query says: [N,C,H,W] in [0, 1]."""
        return await _image_batch(request, served, settings, invert, preprocess)

    Images = Annotated[torch.Tensor, Depends(image_batch)]

    @router.post(
        "/encode",
        operation_id="encode",
        summary="Encode images to the posterior mean and log-variance",
        response_model=EncodeResponse,
        responses=json_response("X-Seed"),
        openapi_extra=body,
    )
    async def encode(served: ServedDep, x: Images, seed: SeedQuery = None) -> JSONResponse:
        """q(z|x) = N(mean, exp(logvar)) per image; with ?seed= also a sample z from it (and
        the X-Seed header)."""
        model = served.model
        mean, logvar = await served.worker.run(model, "encode", x)
        body = EncodeResponse(model=model.name, mean=mean.tolist(), logvar=logvar.tolist())
        headers = {}
        if seed is not None:
            noise = torch.randn(mean.shape, generator=torch.Generator().manual_seed(seed))
            body.z = (mean + torch.exp(0.5 * logvar) * noise).tolist()
            headers["X-Seed"] = str(seed)
        return JSONResponse(body.model_dump(exclude_none=True), headers=headers)

    for suffix, output_of, as_png in (("", outputs.png, True), (".json", outputs.json, False)):

        async def reconstruct(
            served: ServedDep,
            x: Images,
            output: Annotated[Output, Depends(output_of)],  # noqa: B023 - bound per iteration
        ) -> Response:
            """decode(mean(x)) for each image."""
            model = served.model
            output.check_budget(len(x), model.image_shape)
            encoded = await served.worker.run(model, "forward", x, output.encoder())
            return output.respond(encoded, lambda images: {"model": model.name, "images": images})

        router.add_api_route(
            f"/reconstruct{suffix}",
            reconstruct,
            methods=["POST"],
            operation_id="reconstructPng" if as_png else "reconstructJson",
            summary="Reconstruct images through the posterior mean: "
            + ("a PNG (a grid for several)" if as_png else "JSON {model, images}"),
            response_model=None if as_png else ImagesResponse,
            response_class=Response if as_png else JSONResponse,
            responses=image_response() if as_png else json_response(),
            openapi_extra=body,
        )

    @router.post(
        "/score",
        operation_id="score",
        summary="Negative ELBO and importance-weighted NLL of images",
        response_model=ScoreResponse,
        responses=json_response("X-Seed"),
        openapi_extra=body,
    )
    async def score_route(
        served: ServedDep,
        x: Images,
        k: Annotated[
            int,
            Query(
                ge=1,
                le=settings.max_score_k,
                description="importance samples (at most VAE_MAX_SCORE_K)",
            ),
        ] = min(100, settings.max_score_k),
        seed: SeedQuery = None,
    ) -> JSONResponse:
        """How typical is this image? Lower is more typical; an outlier score. Nats per image."""
        model = served.model
        used_seed = seed if seed is not None else secrets.randbelow(2**31)
        generator = torch.Generator().manual_seed(used_seed)
        nll, neg_elbo = await served.worker.call(
            model,
            lambda: score_images(
                model.module, x.to(model.device), model.input_transform, k, generator
            ),
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
            percentile=model.percentile(nll.tolist()),
        )
        return JSONResponse(body.model_dump(), headers={"X-Seed": str(used_seed)})

    return router
