"""One inference path per model: a thread that runs jobs from a bounded queue.

The event loop only enqueues and awaits; the model runs in the worker thread, so inference
never blocks it. A full queue answers 429 at once instead of letting latency grow unbounded.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import torch

from app.errors import ModelFailure, QueueFull, RequestTimeout, ServiceError

T = TypeVar("T")
logger = logging.getLogger("app.worker")
_Job = tuple[Callable[[], Any], asyncio.Future[Any], asyncio.AbstractEventLoop]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller timed out and cancelled it
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class InferenceWorker:
    """Runs callables for one model, one at a time, in a dedicated thread."""

    def __init__(self, name: str, queue_size: int, timeout_s: float) -> None:
        self.name = name
        self.timeout_s = timeout_s
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name=f"infer-{name}", daemon=True)

    @property
    def depth(self) -> int:
        return self._jobs.qsize()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the queued jobs, then end the thread."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join(timeout_s)

    async def run(self, job: Callable[[], T]) -> T:
        """Run `job` in the worker thread and await its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        try:
            self._jobs.put_nowait((job, future, loop))
        except queue.Full:
            raise QueueFull(
                f"model {self.name!r} is busy: its queue is full, retry shortly",
                headers={"Retry-After": "1"},
            ) from None
        try:
            return await asyncio.wait_for(future, self.timeout_s)
        except TimeoutError:
            raise RequestTimeout(
                f"model {self.name!r} did not answer within {self.timeout_s:g} s"
            ) from None

    def _run(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, future, loop = item
            if future.done():
                continue  # timed out while queued: skip the work
            result, error = None, None
            try:
                with torch.inference_mode():
                    result = job()
            except ServiceError as service_error:
                error = service_error
            except Exception as failure:  # the model itself failed: this request only
                logger.exception("model %s failed", self.name)
                first_line = (
                    str(failure).splitlines()[0] if str(failure) else type(failure).__name__
                )
                error = ModelFailure(f"model {self.name!r} failed on this request: {first_line}")
            loop.call_soon_threadsafe(_settle, future, result, error)
