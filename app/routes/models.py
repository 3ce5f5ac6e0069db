"""What is loaded: GET /models and GET /models/{name}."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from app.caching import entity_tag, not_modified, revalidated
from app.deps import RegistryDep
from app.errors import UnknownModel
from app.openapi import NOT_MODIFIED, errors, headers
from app.queries import NoQuery
from app.schemas import ModelDetail, ModelList
from app.settings import Settings

router = APIRouter(tags=["models"])
TAGGED: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON", "headers": headers("ETag", "Cache-Control")}
}


def _tagged(
    request: Request, settings: Settings, shape: type[BaseModel], body: dict[str, Any]
) -> Response:
    """The JSON answer with an ETag of its own bytes: it changes only when the loaded models
    do (a redeploy), so caches keep it but check each time (Cache-Control: no-cache), and a
    304 answers an If-None-Match that holds the tag."""
    rendered = shape.model_validate(body).model_dump_json(by_alias=True).encode()
    tag = entity_tag(request.url.path, hashlib.sha256(rendered).hexdigest())
    caching = revalidated(request, settings, tag)
    unchanged = not_modified(request, caching)
    if unchanged is not None:
        return unchanged
    return Response(rendered, media_type="application/json", headers=caching)


@router.get(
    "/models",
    summary="The loaded models: name, shapes, priors, device, sha256 and size of each",
    operation_id="listModels",
    response_model=ModelList,
    responses={**errors(401, 422), **TAGGED, **NOT_MODIFIED},
)
async def list_models(
    request: Request, registry: RegistryDep, _: Annotated[NoQuery, Query()]
) -> Response:
    """A compact listing; the full metadata of one model is at /models/{name}."""
    body = {
        "default": registry.default_name,
        "models": [registry.models[name].summary() for name in sorted(registry.models)],
    }
    return _tagged(request, registry.settings, ModelList, body)


@router.get(
    "/models/{name}",
    summary="One model's whole metadata (metrics, training, priors), device, sha256 and size",
    operation_id="getModel",
    response_model=ModelDetail,
    responses={**errors(401, 404, 422), **TAGGED, **NOT_MODIFIED},
)
async def get_model(
    request: Request, name: str, registry: RegistryDep, _: Annotated[NoQuery, Query()]
) -> Response:
    if name not in registry.models:
        raise UnknownModel(f"no model named {name!r}; loaded: {', '.join(sorted(registry.models))}")
    return _tagged(request, registry.settings, ModelDetail, registry.models[name].describe())
