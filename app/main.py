"""Assemble the FastAPI app: settings, models, middleware, error mapping, routes."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from app.access_log import AccessLog
from app.deps import require_api_key
from app.errors import install_error_handlers
from app.fast_route import build_routes_now
from app.lifecycle import lifespan
from app.metrics import Metrics
from app.middleware import BodyGuard, CleanStartupFailure, RequestContext
from app.openapi import install_truthful_openapi
from app.registry import ModelRegistry
from app.routes import analyse, animate, generate, health, models, page
from app.settings import Settings, get_settings


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
        BodyGuard,
        max_bytes=settings.max_body_bytes,
        timeout_s=settings.body_timeout_s,
        max_header_bytes=settings.max_header_bytes,
    )
    app.add_middleware(
        RequestContext,
        metrics=app.state.metrics,
        access_log=app.state.access_log if settings.access_log else None,
    )
    app.add_middleware(CleanStartupFailure, state=app.state)
    build_routes_now(app)  # a route included with a dependency it cannot run fails here
    return app


app = create_app()
