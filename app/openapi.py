"""Keep /openapi.json truthful and friendly to client generators.

Routes declare their own limits, response types and headers (see app.routes). What only the
running server knows is filled in here, once, when the schema is first asked for:
- the latent length D of the loaded models, on every latent vector (and in the examples);
- the limits of this server's settings (app.limits), on the parameters and body fields they
  bound, and the JSON bodies the routes read themselves (app.bodies);
- the headers every response carries (X-Request-ID, X-Process-Time);
- the server's one error shape, {"detail": "..."}, in place of FastAPI's HTTPValidationError,
  which this server never sends.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.bodies import BODY_COMPONENTS
from app.inputs import image_body_schemas
from app.limits import schema_limit
from app.queries import UNDOCUMENTED
from app.registry import ModelRegistry
from app.rendering import PNG_MEDIA_TYPES
from app.schemas import LATENT_GRID, LATENT_VECTOR, ErrorResponse

_REASONS = {
    400: "a body that is not valid JSON, or image bytes that no image decoder reads",
    401: "missing or wrong API key (only when VAE_API_KEY is set)",
    404: "unknown model",
    408: "the body arrived slower than VAE_BODY_TIMEOUT_S",
    413: "body or image over the configured limit",
    415: "a Content-Type this route does not read",
    422: "well-formed but invalid input; the detail names the field and the limit",
    429: "the inference queue is full; see Retry-After",
    503: "not ready yet, shutting down, or the model failed on this request",
    504: "the request waited longer than VAE_REQUEST_TIMEOUT_S",
}

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "the request's id: yours from X-Request-ID, else a new one",
        "schema": {"type": "string"},
    },
    "X-Process-Time": {
        "description": "seconds the server spent on the request",
        "schema": {"type": "string"},
    },
    "X-Seed": {
        "description": "the seed used (send it back as ?seed= to get the same result)",
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-Prior": {
        "description": "what z was drawn from: fitted, standard, or class (with digit=)",
        "schema": {"type": "string", "enum": ["fitted", "standard", "class"]},
    },
    "ETag": {
        "description": "the answer's strong entity tag: send it back in If-None-Match",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "seeded: public (private with VAE_API_KEY), max-age=VAE_CACHE_MAX_AGE, "
        "immutable; unseeded: no-store",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0},
    },
}
EVERY_RESPONSE = ("X-Request-ID", "X-Process-Time")


def headers(*names: str) -> dict[str, dict[str, Any]]:
    return {name: HEADERS[name] for name in names}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for these statuses, each with the {"detail": ...} body."""
    declared: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorResponse, "description": _REASONS[code]} for code in codes
    }
    if 429 in declared:
        declared[429]["headers"] = headers("Retry-After")
    return declared


QUERY_ERRORS = errors(401, 404, 422, 429, 503, 504)
BODY_ERRORS = errors(400, 401, 404, 408, 413, 415, 422, 429, 503, 504)


# A GET whose answer has an ETag: If-None-Match with it gets this, and no body.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {
        "description": "not modified: If-None-Match holds this answer's ETag (no body)",
        "headers": headers("ETag", "Cache-Control"),
    }
}


def image_response(*header_names: str) -> dict[int | str, dict[str, Any]]:
    """A 200 that is a PNG, with these headers: image/png, or application/octet-stream when
    Accept asks for that (the media type client generators turn into bytes)."""
    png = {"schema": {"type": "string", "format": "binary"}}
    return {
        200: {
            "description": "a PNG: one image, or a grid or strip of them",
            "content": {media_type: dict(png) for media_type in PNG_MEDIA_TYPES},
            "headers": headers(*header_names),
        }
    }


# A .npy answer: numpy's own format, which says its shape and dtype.
NPY_RESPONSE: dict[str, Any] = {
    "description": "numpy's .npy: a float32 (or float16) tensor that says its own shape",
    "content": {"application/x-npy": {"schema": {"type": "string", "format": "binary"}}},
}


def json_response(*header_names: str) -> dict[int | str, dict[str, Any]]:
    """A 200 whose JSON body is the route's response_model, with these headers."""
    return {200: {"description": "JSON", "headers": headers(*header_names)}}


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a schema, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _latent_lengths(schema: dict[str, Any], registry: ModelRegistry) -> None:
    """Latent vectors have the loaded models' D entries (a range when their D differ)."""
    sizes = sorted({model.latent_dim for model in registry.models.values()})
    for node in _nodes(schema):
        if node.pop(LATENT_VECTOR, False) and sizes:
            node["minItems"], node["maxItems"] = sizes[0], sizes[-1]
    if not sizes:
        return
    components = schema.get("components", {}).get("schemas", {})
    example = [0.0] * sizes[0]
    if "DecodeRequest" in components:
        components["DecodeRequest"]["examples"] = [{"latents": [example]}]
    if "InterpolateFromLatents" in components:
        components["InterpolateFromLatents"]["examples"] = [
            {"latents": [[-1.0] * sizes[0], [1.0] * sizes[0]], "steps": 8, "method": "slerp"}
        ]


def _grid_bounds(registry: ModelRegistry) -> list[tuple[int, int]] | None:
    """[(min, max)] of the channels, rows and columns a loaded model's grid may have; None when
    no loaded model takes grids."""
    bounds: list[tuple[int, int]] = []
    for model in registry.models.values():
        if model.latent_shape is None:
            continue
        channels, height, width = model.latent_shape
        sizes = model.metadata.sizes
        if sizes is None:
            sides = [(channels, channels), (height, height), (width, width)]
        else:  # any picture size: any grid whose picture the model takes
            smallest = -(-sizes.min // sizes.factor)
            largest = sizes.max // sizes.factor
            sides = [(channels, channels), (smallest, largest), (smallest, largest)]
        bounds = (
            sides
            if not bounds
            else [
                (min(low, new_low), max(high, new_high))
                for (low, high), (new_low, new_high) in zip(bounds, sides, strict=True)
            ]
        )
    return bounds or None


def _latent_grids(schema: dict[str, Any], registry: ModelRegistry) -> None:
    """Latent grids have the loaded grid models' sides; where no loaded model takes grids, the
    grid alternative goes (so a client is never told to send what every model refuses)."""
    bounds = _grid_bounds(registry)
    if bounds is not None:
        for node in _nodes(schema):
            if node.pop(LATENT_GRID, False):
                level = node
                for low, high in bounds:  # [c][h][w], outermost first
                    level["minItems"], level["maxItems"] = low, high
                    level = level["items"]
        return
    for node in list(_nodes(schema)):
        choices = node.get("anyOf")
        if not isinstance(choices, list):
            continue
        kept = [choice for choice in choices if not choice.get(LATENT_GRID)]
        if len(kept) == len(choices):
            continue
        del node["anyOf"]
        if len(kept) == 1:
            node.update({key: value for key, value in kept[0].items() if key not in node})
        else:
            node["anyOf"] = kept


def _limit(declared: dict[str, Any], found: tuple[str, int] | None) -> None:
    """Write a limit into a field's schema; a default over it is shown lowered, as enforced."""
    if found is None:
        return
    keyword, value = found
    declared[keyword] = value
    default = declared.get("default")
    if isinstance(default, int) and default > value:
        declared["default"] = value


def _settings_limits(schema: dict[str, Any], registry: ModelRegistry) -> None:
    """The settings' limits on query parameters and body fields, from app.limits' table; the
    undocumented parameters left out."""
    settings = registry.settings
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if "parameters" in operation:
                operation["parameters"] = [
                    p for p in operation["parameters"] if not p["schema"].get(UNDOCUMENTED)
                ]
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query":
                    continue
                _limit(parameter["schema"], schema_limit("query", parameter["name"], settings))
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        for field, declared in component.get("properties", {}).items():
            _limit(declared, schema_limit(name, field, settings))


def _one_error_shape(schema: dict[str, Any]) -> None:
    """Point FastAPI's automatic 422s at ErrorResponse and drop the shapes never sent."""
    for node in _nodes(schema.get("paths", {})):
        if node.get("$ref") == "#/components/schemas/HTTPValidationError":
            node["$ref"] = "#/components/schemas/ErrorResponse"
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def _common_headers(schema: dict[str, Any]) -> None:
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {}).update(headers(*EVERY_RESPONSE))


def install_truthful_openapi(app: FastAPI, registry: ModelRegistry) -> None:
    """Build /openapi.json once, after the models are loaded, with what only they know."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(image_body_schemas(registry.settings.max_images))
        components.update(copy.deepcopy(BODY_COMPONENTS))
        _settings_limits(schema, registry)
        _latent_grids(schema, registry)
        _latent_lengths(schema, registry)
        _one_error_shape(schema)
        _common_headers(schema)
        if registry.models:  # before loading, D is unknown: do not cache a schema without it
            app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
