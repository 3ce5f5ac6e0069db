"""Assemble the FastAPI app: settings, models, middleware, error mapping, routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from app.access_log import AccessLog
from app.artifacts import StartupError
from app.deps import require_api_key
from app.errors import install_error_handlers
from app.metrics import Metrics
from app.middleware import BodyGuard, CleanStartupFailure, RequestContext
from app.openapi import install_truthful_openapi
from app.registry import ModelRegistry
from app.routes import analyse, animate, generate, health, models, page
from app.settings import Settings, get_settings
from contract.errors import ArtifactError

logger = logging.getLogger("app")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load and check every artifact (a bad one stops startup), then warm up in the background."""
    registry: ModelRegistry = app.state.registry
    try:
        await asyncio.to_thread(registry.load)
    except (StartupError, ArtifactError) as error:
        app.state.startup_error = str(error)
        logger.error("cannot start vae-serve: %s", error)
        raise
    warm_up = asyncio.create_task(asyncio.to_thread(registry.warm_up))
    try:
        yield
    finally:
        # Off the event loop: the threads may take seconds to finish what is queued, and
        # in-flight requests still need the loop to be answered.
        await asyncio.gather(asyncio.shield(warm_up), return_exceptions=True)
        await asyncio.to_thread(registry.stop)
        await asyncio.to_thread(app.state.access_log.close)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Swagger UI and ReDoc from files that fastapi-offline ships, not a CDN: GPU boxes are often
    # air-gapped, and /docs would be a blank page there.
    app = FastAPIOffline(
        title="vae-serve",
        version="0.1.0",
        lifespan=lifespan,
        summary="A trained Variational Autoencoder over HTTP: encode, decode, sample, "
        "interpolate, reconstruct and score MNIST-like images.",
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.access_log = AccessLog()
    app.state.registry = ModelRegistry(settings, app.state.metrics)
    app.state.startup_error = None
    install_error_handlers(app)
    install_truthful_openapi(app, app.state.registry)
    # Without a key there is nothing to check: skip the dependency, and its per-request cost.
    # The model routes first: the router tries each route in turn, and they take the load.
    protected = [Depends(require_api_key)] if settings.api_key is not None else []
    for router in (generate.router, animate.router, analyse.router, models.router):
        app.include_router(router, dependencies=protected)
    app.include_router(health.router)
    app.include_router(page.router)
    app.mount("/static", StaticFiles(directory=page.STATIC_DIR), name="static")
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
            expose_headers=["X-Seed", "X-Prior", "X-Request-ID", "X-Process-Time", "ETag"],
        )
    app.add_middleware(
        BodyGuard, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s
    )
    app.add_middleware(
        RequestContext,
        metrics=app.state.metrics,
        access_log=app.state.access_log if settings.access_log else None,
    )
    app.add_middleware(CleanStartupFailure, state=app.state)
    return app


app = create_app()
