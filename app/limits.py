"""The limits a server's settings put on requests: one table, read by the validation (here) and by
the schema (app.openapi), so that a limit is declared once.

The request models (app.schemas, app.queries) declare what holds on every server (n ≥ 1); the
table adds what this server's settings allow (n ≤ VAE_MAX_N). A field left at its default is
lowered to the limit instead of refused: a server with VAE_MAX_STEPS=4 still takes a request
without `steps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from app.errors import InvalidInput
from app.queries import (
    AnimationOptions,
    InterpolateSeedsQuery,
    JsonOptions,
    PngOptions,
    ScoreQuery,
    WalkQuery,
)
from app.schemas import DecodeRequest, InterpolateFromImages, InterpolateFromLatents, SampleRequest
from app.settings import Settings


@dataclass(frozen=True, kw_only=True)
class Limit:
    """`owner.field` is at most `Settings.<setting>`: a number (`maximum`) or a list's length
    (`maxItems`)."""

    owner: type[BaseModel]
    field: str
    setting: str
    keyword: str = "maximum"

    @property
    def env(self) -> str:
        return f"VAE_{self.setting.upper()}"


LIMITS = (
    Limit(owner=SampleRequest, field="n", setting="max_n"),
    Limit(owner=JsonOptions, field="scale", setting="max_scale"),  # PngOptions too
    Limit(owner=AnimationOptions, field="scale", setting="max_scale"),
    Limit(owner=PngOptions, field="cols", setting="max_cols"),
    Limit(owner=DecodeRequest, field="latents", setting="max_latents", keyword="maxItems"),
    Limit(owner=InterpolateFromLatents, field="steps", setting="max_steps"),
    Limit(owner=InterpolateFromImages, field="steps", setting="max_steps"),
    Limit(owner=InterpolateSeedsQuery, field="steps", setting="max_steps"),
    Limit(owner=WalkQuery, field="steps", setting="max_steps"),
    Limit(owner=ScoreQuery, field="k", setting="max_score_k"),
)
_BY_OWNER: dict[type[BaseModel], tuple[Limit, ...]] = {}


def limits_of(model: type[BaseModel]) -> tuple[Limit, ...]:
    """The limits on `model`'s fields, its base classes' included (cached per class)."""
    found = _BY_OWNER.get(model)
    if found is None:
        found = _BY_OWNER.setdefault(
            model, tuple(limit for limit in LIMITS if issubclass(model, limit.owner))
        )
    return found


def _size(value: Any, keyword: str) -> int | float:
    return len(value) if keyword == "maxItems" else value


def enforce(value: BaseModel, settings: Settings, where: str) -> None:
    """422 when a field of `value` is over this server's limit; a default over it is lowered."""
    for limit in limits_of(type(value)):
        current, allowed = getattr(value, limit.field), getattr(settings, limit.setting)
        if current is None or _size(current, limit.keyword) <= allowed:
            continue
        if limit.field not in value.model_fields_set and limit.keyword == "maximum":
            setattr(value, limit.field, allowed)
            continue
        if limit.keyword == "maxItems":
            problem = f"List should have at most {allowed} items, not {len(current)}"
        else:
            problem = f"Input should be less than or equal to {allowed}"
        raise InvalidInput(f"{where}.{limit.field}: {problem} ({limit.env})")


def enforce_total(value: int, setting: str, settings: Settings, what: str) -> None:
    """422 when a size computed from several fields (`what` = `value`) is over
    `Settings.<setting>`: the animation budgets (app.animation)."""
    allowed = getattr(settings, setting)
    if value > allowed:
        raise InvalidInput(f"{what} = {value:,}; the limit is {allowed:,} (VAE_{setting.upper()})")


def schema_limit(owner: str, field: str, settings: Settings) -> tuple[str, int] | None:
    """(JSON-schema keyword, value) of the limit on a body model's field, or on a query
    parameter (`owner` "query": query parameters of one name share one limit), for
    app.openapi."""
    for limit in LIMITS:
        in_query = owner == "query" and limit.owner in _QUERY_OWNERS
        if (in_query or limit.owner.__name__ == owner) and limit.field == field:
            return limit.keyword, getattr(settings, limit.setting)
    return None


# The query models' bases; SampleRequest is a body and a query model's base (GET /sample).
_QUERY_OWNERS = (
    SampleRequest,
    JsonOptions,
    PngOptions,
    AnimationOptions,
    InterpolateSeedsQuery,
    WalkQuery,
    ScoreQuery,
)
