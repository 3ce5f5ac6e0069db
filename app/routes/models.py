"""What is loaded: GET /models and GET /models/{name}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.deps import RegistryDep
from app.errors import UnknownModel
from app.openapi import errors
from app.schemas import ModelList

router = APIRouter(tags=["models"], responses=errors(401, 404))


@router.get(
    "/models",
    summary="Every loaded model's metadata, device, sha256 and size",
    response_model=ModelList,
)
async def list_models(registry: RegistryDep) -> dict[str, Any]:
    return {
        "default": registry.default_name,
        "models": [registry.models[name].describe() for name in sorted(registry.models)],
    }


@router.get("/models/{name}", summary="One model's metadata, device, sha256 and size")
async def get_model(name: str, registry: RegistryDep) -> dict[str, Any]:
    if name not in registry.models:
        raise UnknownModel(f"no model named {name!r}; loaded: {', '.join(sorted(registry.models))}")
    return registry.models[name].describe()
