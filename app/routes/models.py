"""What is loaded: GET /models and GET /models/{name}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.deps import RegistryDep
from app.errors import UnknownModel
from app.openapi import errors
from app.queries import NoQuery
from app.schemas import ModelDetail, ModelList

router = APIRouter(tags=["models"])


@router.get(
    "/models",
    summary="The loaded models: name, shapes, priors, device, sha256 and size of each",
    operation_id="listModels",
    response_model=ModelList,
    responses=errors(401, 422),
)
async def list_models(registry: RegistryDep, _: Annotated[NoQuery, Query()]) -> dict[str, Any]:
    """A compact listing; the full metadata of one model is at /models/{name}."""
    return {
        "default": registry.default_name,
        "models": [registry.models[name].summary() for name in sorted(registry.models)],
    }


@router.get(
    "/models/{name}",
    summary="One model's whole metadata (metrics, training, priors), device, sha256 and size",
    operation_id="getModel",
    response_model=ModelDetail,
    responses=errors(401, 404, 422),
)
async def get_model(
    name: str, registry: RegistryDep, _: Annotated[NoQuery, Query()]
) -> dict[str, Any]:
    if name not in registry.models:
        raise UnknownModel(f"no model named {name!r}; loaded: {', '.join(sorted(registry.models))}")
    return registry.models[name].describe()
