"""QueryModelRoute runs no dependencies, so it refuses any endpoint it could not serve fully."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response

from app.fast_route import QueryModelRoute, build_routes_now
from app.queries import ModelChoice


async def needs_something() -> None:
    return None


def test_a_route_with_another_dependency_is_refused() -> None:
    router = APIRouter(route_class=QueryModelRoute)

    async def endpoint(request: Request, query: Annotated[ModelChoice, Query()]) -> Response:
        return Response()

    with pytest.raises(TypeError, match="does not run dependencies"):
        router.add_api_route("/x", endpoint, dependencies=[Depends(needs_something)])


def test_a_route_without_a_query_model_is_refused() -> None:
    router = APIRouter(route_class=QueryModelRoute)

    async def endpoint(request: Request, n: int = 1) -> Response:
        return Response()

    with pytest.raises(TypeError, match="query model"):
        router.add_api_route("/y", endpoint)


@pytest.mark.parametrize("where", ["include_router", "app"])
def test_a_dependency_the_route_is_included_with_is_refused_when_built(where: str) -> None:
    """FastAPI runs an includer's dependencies for ordinary routes; this route class would skip
    them silently, so including it with one fails at once."""
    router = APIRouter(route_class=QueryModelRoute)

    @router.get("/z")
    async def endpoint(request: Request, query: Annotated[ModelChoice, Query()]) -> Response:
        return Response()

    app = FastAPI(dependencies=[Depends(needs_something)] if where == "app" else None)
    extra = [Depends(needs_something)] if where == "include_router" else None
    app.include_router(router, dependencies=extra)
    with pytest.raises(TypeError, match="does not run dependencies"):
        build_routes_now(app)  # what create_app does once its routers are included


def test_the_fastapi_internals_it_reads_are_where_they_were() -> None:
    """When this fails, FastAPI moved what app.fast_route reads: re-read FastAPI's
    APIRoute.get_route_handler, mend effective_dependant, and move the pin in pyproject.toml."""
    from fastapi import routing
    from fastapi.dependencies.models import Dependant

    assert isinstance(routing._effective_route_context_var.get(), type(None))
    fields = {"query_params", "path_params", "header_params", "cookie_params", "body_params"}
    assert fields | {"dependencies", "request_param_name", "call"} <= set(
        Dependant.__dataclass_fields__
    )
    seen: list[object] = []

    class Spy(QueryModelRoute):
        def get_route_handler(self):  # type: ignore[no-untyped-def]
            seen.append(routing._effective_route_context_var.get())
            return super().get_route_handler()

    spied = APIRouter(route_class=Spy)

    @spied.get("/w")
    async def endpoint(request: Request, query: Annotated[ModelChoice, Query()]) -> Response:
        return Response()

    app = FastAPI()
    app.include_router(spied)
    build_routes_now(app)
    assert seen[-1] is not None
    assert seen[-1].original_route is spied.routes[0]  # type: ignore[attr-defined]
