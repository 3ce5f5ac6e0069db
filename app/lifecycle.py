"""The service's life: load and warm up at startup, drain on SIGTERM, stop the workers last."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from fastapi import FastAPI

from app.artifacts import StartupError
from app.registry import ModelRegistry
from contract.errors import ArtifactError

logger = logging.getLogger("app")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load and check every artifact (a bad one stops startup), then warm up in the background."""
    registry: ModelRegistry = app.state.registry
    try:
        await asyncio.to_thread(registry.load)
    except (StartupError, ArtifactError) as error:
        app.state.startup_error = str(error)
        logger.error("cannot start vae-serve: %s", error)
        raise
    drain_on_signals(registry, asyncio.get_running_loop())
    warm_up = asyncio.create_task(asyncio.to_thread(registry.warm_up))
    try:
        yield
    finally:
        # Off the event loop: the threads may take seconds to finish what is queued, and
        # in-flight requests still need the loop to be answered.
        await asyncio.gather(asyncio.shield(warm_up), return_exceptions=True)
        await asyncio.to_thread(registry.stop)
        await asyncio.to_thread(app.state.access_log.close)


def drain_on_signals(registry: ModelRegistry, loop: asyncio.AbstractEventLoop) -> None:
    """On SIGTERM or SIGINT, start draining the models' queues at once (app.worker.drain),
    then let the server's own handler (uvicorn's: stop accepting, wait for connections) run.
    Without this the queues would drain only after every connection had closed, which a long
    queue postpones past any grace period. The handler only schedules the drain on the event
    loop: a signal handler may interrupt code that holds the queues' locks."""
    if threading.current_thread() is not threading.main_thread():
        return  # signals reach the main thread only (a test client's app runs elsewhere)
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue  # no server handler to chain to: the default action ends the process

        def handler(
            number: int, frame: FrameType | None, previous: Callable[..., Any] = previous
        ) -> None:
            loop.call_soon_threadsafe(registry.begin_shutdown)
            previous(number, frame)

        signal.signal(signum, handler)
