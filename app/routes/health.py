"""Probes and metrics: they bypass the queue and the API key."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.deps import RegistryDep
from app.registry import Readiness
from app.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/livez",
    operation_id="livez",
    summary="Liveness: the process is up, and its warm-up did not fail",
    response_model=Health,
    responses={503: {"model": Health, "description": "the warm-up failed: restart the process"}},
)
@router.get(
    "/healthz", summary="Liveness (alias of /livez)", response_model=Health, include_in_schema=False
)
async def livez(registry: RegistryDep) -> JSONResponse:
    if registry.readiness is Readiness.FAILED:
        return JSONResponse({"status": "failed"}, 503)
    return JSONResponse({"status": "alive"})


@router.get(
    "/readyz",
    operation_id="readyz",
    summary="Readiness: 200 once every model is loaded and warm",
    response_model=Health,
    responses={503: {"model": Health}},
)
async def readyz(registry: RegistryDep) -> JSONResponse:
    ready = registry.readiness is Readiness.READY
    return JSONResponse({"status": registry.readiness.value}, 200 if ready else 503)


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics, in Prometheus' text format",
    response_class=PlainTextResponse,
)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
