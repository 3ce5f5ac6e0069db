"""What routes take from the app: the settings, the registry, the chosen model; the API key.

Routes call `served(request, name)` rather than declaring the model as a dependency: FastAPI's
dependency solving was the largest part of a small request's time on the event loop.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.artifacts import LoadedModel
from app.errors import Unauthorized
from app.jobs import Receive, Rows
from app.registry import ModelRegistry
from app.settings import Settings
from app.stages import Stage
from app.worker import InferenceWorker

T = TypeVar("T")

# Every dependency is `async def`: none of them blocks, and a plain `def` would cost each
# request a hop through AnyIO's thread pool.


async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def app_registry(request: Request) -> ModelRegistry:
    registry: ModelRegistry = request.app.state.registry
    return registry


SettingsDep = Annotated[Settings, Depends(app_settings)]
RegistryDep = Annotated[ModelRegistry, Depends(app_registry)]


@dataclass(frozen=True)
class Served:
    """What a route needs to serve one model: the model, the inference worker, the settings,
    and the request's ASGI receive (so that work for a client that went away is dropped)."""

    model: LoadedModel
    worker: InferenceWorker
    settings: Settings
    receive: Receive
    uploads: Stage  # pixels being decoded from uploads (app.inputs.decode_images)

    async def run(
        self,
        method: str,
        rows: Rows,
        finish: Callable[[Any], Any] | None = None,
        size: int | None = None,
        answer_values: int = 0,
        exact: bool = False,
    ) -> Any:
        """The model's `method` on `rows`, batched (app.worker.InferenceWorker.run); `exact`
        for rows drawn from a seed, whose bytes are promised."""
        return await self.worker.run(
            self.model,
            method,
            rows,
            finish,
            size,
            answer_values,
            receive=self.receive,
            exact=exact,
        )

    async def call(self, work: Callable[[], T]) -> T:
        """`work` in the calls thread (app.worker.InferenceWorker.call)."""
        return await self.worker.call(self.model, work, receive=self.receive)


def served(request: Request, name: str | None) -> Served:
    """The model `name` (None: the default) with what serves it; 404 or 503 when it can't be."""
    registry: ModelRegistry = request.app.state.registry
    return Served(
        registry.get(name),
        registry.inference,
        registry.settings,
        request.receive,
        registry.uploads,
    )


# Declared with FastAPI's security classes so that /openapi.json has securitySchemes and each
# protected operation lists them; auto_error=False because the check below answers the 401.
bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="Authorization: Bearer VAE_API_KEY"
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="apiKey", description="X-API-Key: VAE_API_KEY"
)


def check_api_key(request: Request, settings: Settings) -> None:
    """With VAE_API_KEY set: `Authorization: Bearer KEY` or `X-API-Key: KEY`, compared in
    constant time. Every credential offered must be right: a wrong Authorization header (or
    one of another scheme) is a 401 even when X-API-Key is right."""
    if settings.api_key is None:
        return
    expected = settings.api_key.get_secret_value().encode()
    offered = []
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, credentials = authorization.partition(" ")
        offered.append(credentials.strip() if scheme.lower() == "bearer" else "")
    header_key = request.headers.get("x-api-key")
    if header_key is not None:
        offered.append(header_key)
    if not offered or not all(secrets.compare_digest(o.encode(), expected) for o in offered):
        raise Unauthorized(
            "missing or wrong API key (Authorization: Bearer KEY or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def require_api_key(
    request: Request,
    settings: SettingsDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    _header_key: Annotated[str | None, Depends(api_key_scheme)],
) -> None:
    """The API key as a dependency: the security schemes declare it in /openapi.json, and
    check_api_key (also called directly by app.fast_route) checks it."""
    check_api_key(request, settings)
