"""Dependency aliases for routes: the settings, the chosen model, output options, the API key."""

# No `from __future__ import annotations`: output_dependencies makes dependencies in a closure,
# and FastAPI must see their annotations as objects.
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Header, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.artifacts import LoadedModel
from app.errors import InvalidInput, Unauthorized, UnsupportedMediaType
from app.registry import ModelRegistry
from app.rendering import PNG_MEDIA_TYPES, Output
from app.settings import Settings
from app.worker import InferenceWorker
from contract.images import Invert, Preprocess

# Every dependency is `async def`: none of them blocks, and a plain `def` would cost each
# request a hop through AnyIO's thread pool.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_registry(request: Request) -> ModelRegistry:
    registry: ModelRegistry = request.app.state.registry
    return registry


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]


@dataclass(frozen=True)
class Served:
    """What a route needs to serve one model: the model and the inference worker."""

    model: LoadedModel
    worker: InferenceWorker


async def get_served(
    registry: RegistryDep,
    model: Annotated[
        str | None, Query(description="model name; default from settings", max_length=200)
    ] = None,
) -> Served:
    loaded = registry.get(model)
    return Served(loaded, registry.inference)


ServedDep = Annotated[Served, Depends(get_served)]


@dataclass(frozen=True)
class OutputDependencies:
    """`png`: for the image routes (a PNG; the legacy ?format=json and Accept: application/json
    still answer JSON, undocumented); `json`: for their `.json` twins."""

    png: Callable[..., Awaitable[Output]]
    json: Callable[..., Awaitable[Output]]


def output_dependencies(settings: Settings) -> OutputDependencies:
    """The output options with this server's limits declared once, in the parameters."""
    Scale = Annotated[
        int,
        Query(
            ge=1,
            le=settings.max_scale,
            description="nearest-neighbour upscale factor (at most VAE_MAX_SCALE)",
        ),
    ]

    async def png_output(
        scale: Scale = 1,
        cols: Annotated[
            int | None,
            Query(
                ge=1,
                le=settings.max_cols,
                description="grid columns; default ceil(sqrt(n)) (at most VAE_MAX_COLS)",
            ),
        ] = None,
        format: Annotated[Literal["png", "json"] | None, Query(include_in_schema=False)] = None,
        accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Output:
        wanted = (accept or "").lower()
        if format is None:
            format = "json" if "application/json" in wanted and "image/png" not in wanted else "png"
        octets = "application/octet-stream" in wanted and "image/png" not in wanted
        media_type = PNG_MEDIA_TYPES[1] if octets else PNG_MEDIA_TYPES[0]
        return Output(
            png=format == "png",
            scale=scale,
            cols=cols,
            media_type=media_type,
            max_values=settings.max_output_values,
        )

    async def json_output(scale: Scale = 1) -> Output:
        return Output(png=False, scale=scale, cols=None, max_values=settings.max_output_values)

    return OutputDependencies(png=png_output, json=json_output)


InvertQuery = Annotated[
    Invert,
    Query(
        description="grey models: invert dark-on-light drawings; auto looks at the border. "
        "Colour models take auto only"
    ),
]
PreprocessQuery = Annotated[
    Preprocess | None,
    Query(
        description="mnist (grey models only): remove the background, crop the ink, fit it "
        "into 20×20 and centre it by mass (for photos and drawings); fit (or its old name "
        "none): resize keeping the aspect ratio, pad with the background. Default: for grey "
        "models mnist for images that are not the model's size, fit for those that are; for "
        "colour models fit"
    ),
]

# Declared with FastAPI's security classes so that /openapi.json has securitySchemes and each
# protected operation lists them; auto_error=False because the check below answers the 401.
bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="Authorization: Bearer VAE_API_KEY"
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="apiKey", description="X-API-Key: VAE_API_KEY"
)


async def require_api_key(
    request: Request,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    header_key: Annotated[str | None, Depends(api_key_scheme)],
) -> None:
    """With VAE_API_KEY set: `Authorization: Bearer KEY` or `X-API-Key: KEY`, compared in
    constant time. Every credential offered must be right: a wrong Authorization header (or
    one of another scheme) is a 401 even when X-API-Key is right."""
    if settings.api_key is None:
        return
    expected = settings.api_key.get_secret_value().encode()
    offered = []
    if "authorization" in request.headers:
        offered.append(bearer.credentials if bearer is not None else "")
    if header_key is not None:
        offered.append(header_key)
    if not offered or not all(secrets.compare_digest(o.encode(), expected) for o in offered):
        raise Unauthorized(
            "missing or wrong API key (Authorization: Bearer KEY or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _declared_query(dependant: Dependant) -> frozenset[str]:
    """Every query parameter a route or its dependencies declare, by the name clients send."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared_query(sub)
    return frozenset(names)


_DECLARED: dict[int, frozenset[str]] = {}


async def reject_unknown_query(request: Request) -> None:
    """A query parameter the route does not take is a 422 that names it: a typo such as
    `?sed=4` must not silently give a random seed."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared = _DECLARED.get(id(route))
    if declared is None:
        declared = _DECLARED.setdefault(id(route), _declared_query(route.dependant))
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise InvalidInput(
            f"unknown query parameter(s) {', '.join(unknown)}; "
            f"{route.path} takes {', '.join(sorted(declared)) or 'none'}"
        )


async def require_json(request: Request) -> None:
    """JSON bodies need `Content-Type: application/json`; anything else is a 415 saying so."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        shown = content_type or "no Content-Type"
        raise UnsupportedMediaType(
            f"{request.url.path} takes a JSON body; got {shown}. "
            "Send it with Content-Type: application/json"
        )


JsonBody = Depends(require_json)
