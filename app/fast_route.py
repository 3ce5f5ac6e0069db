"""A route class for the model routes: FastAPI documents them as usual, from the signature, but
at run time no dependency is solved.

Every model route has the signature `(request: Request, query: QueryModel) -> Response` and
reads its body itself (app.bodies, app.inputs). FastAPI's generic path for a query model
visits each field in Python (about 300 µs of a small request's event-loop time, more than all
the rest); here the query is one pydantic call on the query string. The API key (when
VAE_API_KEY is set) is checked directly on every request; it is the one dependency such a route
may carry, for the schema's security declaration.
Anything else in the signature, and any dependency the route is included with (by a router,
`include_router` or the app), is refused when the route is built, so nothing is silently
skipped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.routing import NoMatchFound

from app.deps import check_api_key, require_api_key


def effective_dependant(route: APIRoute) -> Dependant:
    """What FastAPI runs for `route` where it is included. Since FastAPI 0.165 an included
    route's handler is built once per inclusion, with the includer's dependencies (those of
    `include_router(..., dependencies=)` and of the app) in a context variable that
    APIRoute.get_route_handler reads; `route.dependant` alone misses them. FastAPI internals:
    pyproject.toml pins the minor they were read from, and tests/app/test_fast_route.py fails
    when they move."""
    context = fastapi_routing._effective_route_context_var.get()
    if context is not None and context.original_route is route and context.dependant is not None:
        found: Dependant = context.dependant
        return found
    return route.dependant


def _query_model(route: APIRoute) -> type[BaseModel]:
    dependant = effective_dependant(route)
    params = dependant.query_params
    annotation = params[0].field_info.annotation if len(params) == 1 else None
    others = dependant.path_params or dependant.header_params or dependant.cookie_params
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)) or others:
        raise TypeError(
            f"{route.path}: a QueryModelRoute endpoint takes (request, query model) only"
        )
    if dependant.body_params or dependant.request_param_name is None:
        raise TypeError(f"{route.path}: the endpoint reads its body itself, from `request`")
    extra = [d.call for d in dependant.dependencies if d.call is not require_api_key]
    if extra:
        raise TypeError(f"{route.path}: QueryModelRoute does not run dependencies {extra}")
    return annotation


def build_routes_now(app: FastAPI) -> None:
    """Have FastAPI build every included route's handler now: since 0.165 it builds them on
    first use, so a QueryModelRoute included with a dependency it cannot run would fail on a
    user's first request instead of at startup. Looking up a name no route has makes Starlette
    visit, and so build, every route."""
    with contextlib.suppress(NoMatchFound):
        app.url_path_for("(a name no route has: builds every route)")


class QueryModelRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        model = _query_model(self)
        endpoint = self.endpoint

        async def handle(request: Request) -> Response:
            # Always, not only when the route lists the dependency: a router's dependencies
            # (app.main's include_router) may never reach this route's own dependant.
            check_api_key(request, request.app.state.settings)
            try:
                query = model.model_validate(dict(request.query_params))
            except ValidationError as error:
                errors = [{**e, "loc": ("query", *e["loc"])} for e in error.errors()]
                raise RequestValidationError(errors) from None
            response: Response = await endpoint(request, query)
            return response

        return handle
