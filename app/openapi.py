"""Keep /openapi.json truthful: declared error responses, and limits that come from settings."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.schemas import ErrorResponse
from app.settings import Settings

_REASONS = {
    400: "an image that cannot be read",
    401: "missing or wrong API key (only when VAE_API_KEY is set)",
    404: "unknown model",
    413: "body or image over the configured limit",
    415: "a Content-Type this route does not read",
    422: "well-formed but invalid input; the detail names the field and the limit",
    429: "the inference queue is full; see Retry-After",
    503: "not ready yet, shutting down, or the model failed on this request",
    504: "the request waited longer than VAE_REQUEST_TIMEOUT_S",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for these statuses, each with the {"detail": ...} body."""
    return {code: {"model": ErrorResponse, "description": _REASONS[code]} for code in codes}


MODEL_ERRORS = errors(401, 404, 422, 429, 503, 504)
BODY_ERRORS = errors(401, 404, 413, 415, 422, 429, 503, 504)
IMAGE_ERRORS = errors(400, 401, 404, 413, 415, 422, 429, 503, 504)


def _limit(node: dict[str, Any], **bounds: int) -> None:
    node.update(bounds)


def install_truthful_openapi(app: FastAPI, settings: Settings) -> None:
    """Publish the limits this server enforces (they come from settings) in its schema."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        components = schema.get("components", {}).get("schemas", {})
        query_bounds = {
            "n": settings.max_n,
            "scale": settings.max_scale,
            "cols": settings.max_cols,
            "k": settings.max_score_k,
        }
        for path in schema["paths"].values():
            for operation in path.values():
                for parameter in operation.get("parameters", []):
                    if parameter["name"] in query_bounds:
                        _limit(parameter["schema"], maximum=query_bounds[parameter["name"]])
        if "SampleRequest" in components:
            _limit(components["SampleRequest"]["properties"]["n"], maximum=settings.max_n)
        if "DecodeRequest" in components:
            _limit(
                components["DecodeRequest"]["properties"]["latents"],
                minItems=1,
                maxItems=settings.max_latents,
            )
        if "InterpolateRequest" in components:
            properties = components["InterpolateRequest"]["properties"]
            _limit(properties["steps"], maximum=settings.max_steps)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
