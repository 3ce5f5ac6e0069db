"""JSON request bodies: read, parsed and validated in one pydantic call, off the event loop when
large, and declared in /openapi.json from the same types.

The routes read their bodies here rather than through FastAPI's body parameters, which parse
with `json.loads` and validate on the event loop whatever the size: a 4 MB body of latents held
every other request for tens of milliseconds.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Request
from pydantic import Discriminator, Tag, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from app.errors import BadRequest, InvalidInput, UnsupportedMediaType, validation_message
from app.schemas import (
    Base64Images,
    DecodeOneRequest,
    DecodeRequest,
    InterpolateFromImages,
    InterpolateFromLatents,
    SampleRequest,
    decode_kind,
    interpolate_kind,
)
from app.stages import Stage

T = TypeVar("T")
# Bodies up to this size are validated on the event loop (a few hundred microseconds at most);
# larger ones in the thread pool, so that small requests are not held behind them.
ON_LOOP_BYTES = 256 * 1024

DecodeBody = Annotated[
    Annotated[DecodeRequest, Tag("batch")] | Annotated[DecodeOneRequest, Tag("one")],
    Discriminator(decode_kind),
]
InterpolateBody = Annotated[
    Annotated[InterpolateFromLatents, Tag("latents")]
    | Annotated[InterpolateFromImages, Tag("images")],
    Discriminator(interpolate_kind),
]
SAMPLE_BODY: TypeAdapter[SampleRequest] = TypeAdapter(SampleRequest)
# Declared in the schema by app.inputs (with the server's image limit), read here like the rest.
BASE64_IMAGES: TypeAdapter[Base64Images] = TypeAdapter(Base64Images)
DECODE_BODY: TypeAdapter[DecodeRequest | DecodeOneRequest] = TypeAdapter(DecodeBody)
INTERPOLATE_BODY: TypeAdapter[InterpolateFromLatents | InterpolateFromImages] = TypeAdapter(
    InterpolateBody
)
# Every body type, for the schema's components: the name a route's requestBody refers to.
BODIES: dict[str, TypeAdapter[Any]] = {
    "SampleRequest": SAMPLE_BODY,
    "DecodeBody": DECODE_BODY,
    "InterpolateBody": INTERPOLATE_BODY,
}


def require_json(request: Request) -> None:
    """JSON bodies need `Content-Type: application/json`; anything else is a 415 saying so."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        shown = content_type or "no Content-Type"
        raise UnsupportedMediaType(
            f"{request.url.path} takes a JSON body; got {shown}. "
            "Send it with Content-Type: application/json"
        )


def _validate(adapter: TypeAdapter[T], raw: bytes) -> T:
    """Strict: JSON has real numbers and booleans, so `true` is not a latent component nor a
    step count, and "8" is not 8 (pydantic's lax mode would take both, against the schema)."""
    try:
        return adapter.validate_json(raw, strict=True)
    except ValidationError as error:
        if any(item["type"] == "json_invalid" for item in error.errors()):
            reason = error.errors()[0].get("ctx", {}).get("error", "malformed")
            raise BadRequest(f"body is not valid JSON: {reason}") from None
        raise InvalidInput(validation_message(error.errors(), prefix=("body",))) from None


async def read_json(request: Request, adapter: TypeAdapter[T]) -> T:
    """The request's JSON body as `adapter`'s type: 415 without the JSON media type, 400 when it
    is not JSON, 422 with the field and the rule when it breaks one. The only JSON reader of
    request bodies: every route answers the same for the same mistake. A large body is parsed
    off the event loop, holding a place in the parse stage (429 when it is full)."""
    require_json(request)
    raw = await request.body()
    if len(raw) <= ON_LOOP_BYTES:
        return _validate(adapter, raw)
    parsing: Stage = request.app.state.registry.parsing
    parsing.admit()
    try:
        return await run_in_threadpool(_validate, adapter, raw)
    finally:
        parsing.release()


def _schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """({body name: the schema its requestBody shows}, {component name: schema}). A model is a
    component of its own, shown by reference; a union is shown inline, its members by
    reference (as FastAPI showed body parameters)."""
    shown: dict[str, Any] = {}
    components: dict[str, Any] = {}
    for name, adapter in BODIES.items():
        schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        if schema.get("type") == "object":
            components[name] = schema
            shown[name] = {"$ref": f"#/components/schemas/{name}"}
        else:
            shown[name] = {**schema, "title": "Body"}
    return shown, components


_SHOWN, BODY_COMPONENTS = _schemas()


def request_body(name: str) -> dict[str, Any]:
    """`openapi_extra` for a route whose JSON body is BODIES[name]."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _SHOWN[name]}},
        }
    }


def latents_body(name: str) -> dict[str, Any]:
    """`openapi_extra` for a route that takes latents as BODIES[name] or as numpy's .npy."""
    documented = request_body(name)
    documented["requestBody"]["content"]["application/x-npy"] = {
        "schema": {"type": "string", "format": "binary"}
    }
    return documented
