"""HTTP caching of the answers that their URL fixes: strong ETags, 304s and Cache-Control.

A seeded GET (/sample?seed=7, the animations) is a pure function of the artifact's bytes, the
route, the query, the serving code's rendering and the device kind: tests prove the same bytes
come back. So its ETag is a digest of exactly those, and a browser, reverse proxy or CDN may
keep the answer. A request whose If-None-Match holds the tag gets a 304 before any model work
is queued. Answers that draw a fresh seed are `no-store`; POST answers carry no freshness, so
caches do not keep them (RFC 9111 §3).

With VAE_API_KEY set every answer is `private`: a shared cache must not hand a keyed answer to
a caller without the key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from app.artifacts import LoadedModel
from app.settings import Settings

# Bump whenever the bytes of an answer change for the same model and query (an encoder option,
# the grid layout, the prior draws): the old tags must stop matching.
RENDERING_VERSION = 3
NO_STORE = {"Cache-Control": "no-store"}
# The headers that, with VAE_API_KEY set, decide whether a request is answered at all.
KEY_HEADERS = ("Authorization", "X-API-Key")


def entity_tag(*parts: Any) -> str:
    """A strong ETag over `parts` (JSON-serialisable; dict keys in any order)."""
    text = json.dumps([RENDERING_VERSION, *parts], sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def url_tag(request: Request, model: LoadedModel, query: BaseModel, **resolved: Any) -> str:
    """The ETag of a GET answer its URL fixes: the artifact's digest and the device kind (the
    same seed gives the same bytes on the same kind of device), the route, and the query with
    its defaults filled in and what the server resolved (`model` → the model's name, plus
    `resolved`, such as the prior a default picks): parameters in any order, or left at their
    defaults, give the same tag."""
    normalised = {**query.model_dump(mode="json"), **resolved, "model": model.name}
    return entity_tag(model.sha256, model.device.type, request.url.path, normalised)


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header holds `etag` (RFC 9110 §13.1.2: the weak comparison,
    so W/"x" and "x" match either; `*` matches any current answer)."""
    if not if_none_match:
        return False
    opaque = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False


def _scope(request: Request, settings: Settings) -> str:
    """`private` when a key guards the service, or when the request carries credentials at all
    (an ingress in front may have checked them): RFC 9111 §3.5 lets a shared cache hand a
    `public` answer to an authorised request to anyone."""
    guarded = settings.api_key is not None or "authorization" in request.headers
    return "private" if guarded else "public"


def _vary(negotiated: bool, settings: Settings) -> str | None:
    names = (["Accept"] if negotiated else []) + (
        list(KEY_HEADERS) if settings.api_key is not None else []
    )
    return ", ".join(names) or None


def _headers(etag: str, control: str, vary: str | None) -> dict[str, str]:
    headers = {"ETag": etag, "Cache-Control": control}
    if vary:
        headers["Vary"] = vary
    return headers


def fixed_by_url(
    request: Request,
    settings: Settings,
    model: LoadedModel,
    etag: str,
    negotiated: bool = False,
) -> dict[str, str]:
    """The headers of an answer its URL fixes for as long as the model stays: cacheable for
    VAE_CACHE_MAX_AGE seconds; `negotiated` when the Accept header also chooses the form (the
    PNG routes' JSON fallback).

    When the model's rows are bit-exact in the worker's fixed-size calls (`model.bit_exact`,
    checked at warm-up) the tag is strong and the answer `immutable`: the same URL gives the
    same bytes. Otherwise a rare pixel may differ by one level with what shared the batch: the
    tag is weak (W/, the same picture) and caches revalidate on reload.
    """
    scope, age = _scope(request, settings), settings.cache_max_age
    if not model.bit_exact:
        etag = "W/" + etag
    if age <= 0:
        control = f"{scope}, no-cache"
    else:
        control = f"{scope}, max-age={age}" + (", immutable" if model.bit_exact else "")
    return _headers(etag, control, _vary(negotiated, settings))


def revalidated(request: Request, settings: Settings, etag: str) -> dict[str, str]:
    """The headers of an answer that may change without its URL changing (/models, after a
    redeploy): stored, but checked with the server (If-None-Match) before each use."""
    return _headers(etag, f"{_scope(request, settings)}, no-cache", _vary(False, settings))


def not_modified(request: Request, headers: dict[str, str]) -> Response | None:
    """A 304 with `headers` when the request's If-None-Match holds their ETag, else None
    (always None for an answer without one: no-store)."""
    etag = headers.get("ETag")
    if etag is not None and matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return None
