"""Errors the service raises on purpose, and the one place that turns exceptions into HTTP.

    ServiceError                 status  meaning
    ├── BadRequest               400     a body that is not valid JSON
    ├── BadImage                 400     the bytes are not an image Pillow can read
    ├── Unauthorized             401     VAE_API_KEY is set and the request lacks it
    ├── UnknownModel             404     ?model= names no loaded model
    ├── PayloadTooLarge          413     body or image larger than the settings allow
    ├── UnsupportedMediaType     415     a Content-Type this route does not take
    ├── InvalidInput             422     well-formed but wrong: lengths, NaN, limits, ...
    ├── QueueFull                429     the model's queue is full; carries Retry-After
    ├── ModelFailure             503     the model raised while running this request
    ├── NotReady                 503     models are loading, or the server is stopping
    └── RequestTimeout           504     the request waited longer than its timeout

Anything else is a bug: it is logged with its traceback and answered as a bare 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

logger = logging.getLogger("app.errors")


class ServiceError(Exception):
    status_code = 500

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class BadRequest(ServiceError):
    status_code = 400


class BadImage(ServiceError):
    status_code = 400


class Unauthorized(ServiceError):
    status_code = 401


class UnknownModel(ServiceError):
    status_code = 404


class PayloadTooLarge(ServiceError):
    status_code = 413


class UnsupportedMediaType(ServiceError):
    status_code = 415


class InvalidInput(ServiceError):
    status_code = 422


class QueueFull(ServiceError):
    status_code = 429


class ModelFailure(ServiceError):
    status_code = 503


class NotReady(ServiceError):
    status_code = 503


class RequestTimeout(ServiceError):
    status_code = 504


def validation_message(errors: Sequence[Any], prefix: tuple[str, ...] = ()) -> str:
    """Pydantic's error list as one readable sentence per problem: 'query.n: ...'."""
    parts = []
    for item in errors:
        where = ".".join(str(p) for p in (*prefix, *item.get("loc", ())))
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _declared_query(request: Request) -> list[str]:
    """The query parameters the matched route takes (its query model's fields)."""
    route = request.scope.get("route")
    names: set[str] = set()
    for param in getattr(getattr(route, "dependant", None), "query_params", []):
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= {f.alias or name for name, f in annotation.model_fields.items()}
        else:
            names.add(param.alias)
    return sorted(names)


def _unknown_query_message(request: Request, error: RequestValidationError) -> str | None:
    """'unknown query parameter(s) sed; /sample takes ...' when that is the whole problem."""
    items = error.errors()
    unknown = [
        str(item["loc"][-1])
        for item in items
        if item.get("type") == "extra_forbidden" and item.get("loc", ("",))[0] == "query"
    ]
    if not unknown or len(unknown) != len(items):
        return None
    path = getattr(request.scope.get("route"), "path", request.url.path)
    return (
        f"unknown query parameter(s) {', '.join(sorted(unknown))}; "
        f"{path} takes {', '.join(_declared_query(request)) or 'none'}"
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's 405 names only the first
    route's (GET /sample and POST /sample are two routes, so it said `Allow: GET`)."""
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to a JSON {"detail": ...} response with the right status."""

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, error: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        detail = _unknown_query_message(request, error) or validation_message(error.errors())
        return JSONResponse({"detail": detail}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse({"detail": error.detail}, error.status_code, headers=headers)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, _: ClientDisconnect) -> Response:
        # Nobody is listening (or the body limit already answered): nothing to report.
        logger.info("client went away during %s %s", request.method, request.url.path)
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal server error"}, 500)
