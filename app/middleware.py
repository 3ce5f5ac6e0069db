"""Pure ASGI middleware: request ids and timing, body-size limit, clean startup failures."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.access_log import AccessLog


class RequestContext:
    """X-Request-ID (echoed or made), X-Process-Time, one access-log entry and metrics per
    request. Everything here runs on the event loop for every request, so it is kept to
    header lookups, a counter and cached metric children; the log line is written elsewhere."""

    def __init__(self, app: ASGIApp, metrics: Any, access_log: AccessLog | None) -> None:
        self.app, self.metrics = app, metrics
        self.access_log = access_log
        # Request ids: a random prefix per process and a counter. Unique, and unlike uuid4 no
        # system call per request.
        self._prefix = uuid.uuid4().hex[:16]
        self._counter = itertools.count()
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # labels() takes a lock and builds a key: once per combination
            children = self._children.setdefault(
                key,
                (
                    self.metrics.requests.labels(method, route, str(status)),
                    self.metrics.latency.labels(route),
                ),
            )
        children[0].inc()
        children[1].observe(elapsed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                offered = value[:128]
                break
        if offered and offered.isascii() and offered.decode("latin-1").isprintable():
            request_id = offered
        else:
            request_id = f"{self._prefix}{next(self._counter):016x}".encode()
        started, status = time.perf_counter(), 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                elapsed = time.perf_counter() - started
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", request_id),
                    (b"x-process-time", b"%.6f" % elapsed),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            self._observe(scope["method"], route, status, elapsed)
            if self.access_log is not None and self.access_log.enabled():
                entry = (
                    request_id.decode("latin-1"),
                    scope["method"],
                    scope["path"],
                    status,
                    elapsed,
                )
                self.access_log.record(entry)


async def send_json_error(send: Send, status: int, detail: str) -> None:
    """A complete JSON {"detail": ...} response, sent from middleware."""
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyGuard:
    """Bound what a client may send: 431 when its headers are over max_header_bytes (before
    anything reads them: an 8 MB If-None-Match used to stall the event loop), 413 over
    max_bytes (at once from Content-Length, else as the body streams in) and 408 when the body
    takes longer than timeout_s to arrive, so a client that trickles bytes cannot hold a
    request open forever."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, timeout_s: float, max_header_bytes: int
    ) -> None:
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked, header_bytes = None, False, 0
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value)
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if header_bytes > self.max_header_bytes:
            await send_json_error(
                send,
                431,
                f"the request's headers hold {header_bytes} bytes; the limit is "
                f"{self.max_header_bytes} (VAE_MAX_HEADER_BYTES)",
            )
            return
        if declared is None and not chunked:
            await self.app(scope, receive, send)  # no body to guard: no wrappers to pay for
            return
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await send_json_error(
                send,
                413,
                f"body of {int(declared)} bytes is over the limit "
                f"of {self.max_bytes} (VAE_MAX_BODY_BYTES)",
            )
            return
        received, answered, body_done = 0, False, False
        deadline = asyncio.get_running_loop().time() + self.timeout_s

        async def refuse(status: int, detail: str) -> Message:
            nonlocal answered
            if not answered:
                answered = True
                await send_json_error(send, status, detail)
            # The app sees the client go away and stops reading; its own answer is dropped.
            return {"type": "http.disconnect"}

        async def guarded_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # e.g. waiting for a disconnect after the body: no deadline
                return await receive()
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), max(remaining, 0.0))
            except TimeoutError:
                return await refuse(
                    408, f"the body did not arrive within {self.timeout_s:g} s (VAE_BODY_TIMEOUT_S)"
                )
            received += len(message.get("body", b""))
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            if received > self.max_bytes:
                return await refuse(
                    413, f"body is over the limit of {self.max_bytes} bytes (VAE_MAX_BODY_BYTES)"
                )
            return message

        async def guarded_send(message: Message) -> None:
            if not answered:
                await send(message)

        await self.app(scope, guarded_receive, guarded_send)


class CleanStartupFailure:
    """When startup fails on purpose (a bad artifact), report the message, not a traceback."""

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_clean(message: Message) -> None:
            reason = getattr(self.state, "startup_error", None)
            if message["type"] == "lifespan.startup.failed" and reason:
                message = {**message, "message": f"cannot start vae-serve: {reason}"}
            await send(message)

        await self.app(scope, receive, send_clean)
