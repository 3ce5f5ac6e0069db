"""QueryModelRoute runs no dependencies, so it refuses any endpoint it could not serve fully."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, Query, Request, Response

from app.fast_route import QueryModelRoute
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
