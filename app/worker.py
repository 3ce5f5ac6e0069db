"""One inference thread per device, fed by a bounded queue, with dynamic batching.

Requests for the same model and method (`decode`, `encode`, `forward`) that are queued together
run as one tensor batch: the thread takes the first job, then keeps taking jobs of the same
kind until the batch holds `max_batch_size` rows or `max_wait_s` has passed (0: only what is
already queued). Each request gets back exactly its own rows. Other work (`call`) runs alone.
The event loop only enqueues and awaits, so inference never blocks it, and a full queue
answers 429 at once instead of letting latency grow without bound.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import Tensor

from app.artifacts import LoadedModel
from app.errors import ModelFailure, QueueFull, RequestTimeout, ServiceError
from app.metrics import Metrics

T = TypeVar("T")
logger = logging.getLogger("app.worker")
BATCHED_METHODS = ("decode", "encode", "forward")


@dataclass
class Job:
    model: LoadedModel
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    method: str = ""  # one of BATCHED_METHODS, or "" for a plain call
    rows: Tensor | None = None  # [n, ...] inputs of a batched method, on the CPU
    call: Callable[[], Any] | None = None
    enqueued: float = field(default_factory=time.perf_counter)

    @property
    def key(self) -> tuple[str, str]:
        return self.model.name, self.method

    @property
    def size(self) -> int:
        return 0 if self.rows is None else len(self.rows)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller timed out and gave up
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _reply(job: Job, result: Any, error: BaseException | None) -> None:
    """Hand a result back to the job's event loop, unless that loop has already closed."""
    with contextlib.suppress(RuntimeError):
        job.loop.call_soon_threadsafe(_settle, job.future, result, error)


def _failure(model: LoadedModel, error: Exception) -> ServiceError:
    """A model error as a 503 for this request; the log keeps the traceback, the client a line."""
    if isinstance(error, ServiceError):
        return error
    logger.error("model %s failed", model.name, exc_info=error)
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    # TorchScript puts its own preamble first and the model's message last.
    summary = (lines[-1] if isinstance(error, torch.jit.Error) else lines[0]) if lines else ""
    return ModelFailure(
        f"model {model.name!r} failed on this request: {summary or type(error).__name__}"
    )


class DeviceWorker:
    """Runs every model of one device in a dedicated thread."""

    def __init__(
        self,
        device: str,
        queue_size: int,
        timeout_s: float,
        max_batch_size: int,
        max_wait_s: float,
        metrics: Metrics,
        torch_threads: int | None = None,
    ) -> None:
        self.device, self.timeout_s = device, timeout_s
        self.torch_threads = torch_threads
        self.max_batch_size, self.max_wait_s = max_batch_size, max_wait_s
        self.metrics = metrics
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size)
        self._held: collections.deque[Job] = collections.deque()  # taken, but for another batch
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"infer-{device}", daemon=True)

    @property
    def depth(self) -> int:
        return self._jobs.qsize() + len(self._held)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish what is queued, then end the thread."""
        self._stopping.set()
        if self._thread.is_alive():
            # Wake a thread blocked on get(); if the queue is full it is busy, and it checks
            # the flag before it waits again.
            with contextlib.suppress(queue.Full):
                self._jobs.put(None, timeout=timeout_s)
            self._thread.join(timeout_s)

    async def run(self, model: LoadedModel, method: str, rows: Tensor) -> Any:
        """`model.<method>(rows)`, batched with concurrent requests; returns this job's rows."""
        if method not in BATCHED_METHODS:
            raise ValueError(f"cannot batch {method!r}")
        return await self._submit(Job(model, *self._future(), method=method, rows=rows))

    async def call(self, model: LoadedModel, work: Callable[[], T]) -> T:
        """Run `work` alone in the inference thread (for work that batches itself)."""
        result: T = await self._submit(Job(model, *self._future(), call=work))
        return result

    @staticmethod
    def _future() -> tuple[asyncio.Future[Any], asyncio.AbstractEventLoop]:
        loop = asyncio.get_running_loop()
        return loop.create_future(), loop

    async def _submit(self, job: Job) -> Any:
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            raise QueueFull(
                f"the {self.device} inference queue is full; retry shortly",
                headers={"Retry-After": "1"},
            ) from None
        self.metrics.queue_depth.labels(self.device).set(self.depth)
        try:
            return await asyncio.wait_for(job.future, self.timeout_s)
        except TimeoutError:
            raise RequestTimeout(
                f"model {job.model.name!r} did not answer within "
                f"{self.timeout_s:g} s (VAE_REQUEST_TIMEOUT_S)"
            ) from None

    def _take(self, wait_s: float) -> Job | None:
        """A queued job, waiting up to wait_s (0: only one already queued); None otherwise."""
        try:
            return self._jobs.get(timeout=wait_s) if wait_s > 0 else self._jobs.get_nowait()
        except queue.Empty:
            return None

    def _run(self) -> None:
        if self.torch_threads is not None:
            # Set where the models run: an already-running thread keeps its own OpenMP pool.
            torch.set_num_threads(self.torch_threads)
        while True:
            if self._held:
                first: Job | None = self._held.popleft()
            elif self._stopping.is_set() and self._jobs.empty():
                return
            else:
                first = self._jobs.get()
            if first is None or first.future.done():
                continue  # a wake-up, or a job whose caller timed out while it queued
            if first.call is not None:
                self._execute_call(first)
                continue
            batch, rows = [first], first.size
            deadline = time.perf_counter() + self.max_wait_s
            while rows < self.max_batch_size:
                following = self._take(deadline - time.perf_counter())
                if following is None:
                    break  # nothing more in time (or the stop wake-up, which needs no action)
                if following.future.done():
                    continue
                if following.key != first.key or rows + following.size > self.max_batch_size:
                    self._held.append(following)  # next batch starts with it
                    break
                batch.append(following)
                rows += following.size
            self._execute_batch(batch, rows)
            self.metrics.queue_depth.labels(self.device).set(self.depth)

    def _execute_call(self, job: Job) -> None:
        started = time.perf_counter()
        self.metrics.queue_seconds.observe(started - job.enqueued)
        result, error = None, None
        try:
            with torch.inference_mode():
                result = job.call() if job.call is not None else None
        except Exception as failure:  # a fault in the model fails this request only
            error = _failure(job.model, failure)
        self.metrics.model_seconds.observe(time.perf_counter() - started)
        _reply(job, result, error)

    def _execute_batch(self, batch: list[Job], rows: int) -> None:
        started = time.perf_counter()
        model, method = batch[0].model, batch[0].method
        for job in batch:
            self.metrics.queue_seconds.observe(started - job.enqueued)
        try:
            inputs = torch.cat([job.rows for job in batch if job.rows is not None])  # [rows,...]
            with torch.inference_mode():
                output = getattr(model.module, method)(inputs.to(model.device))
            parts = [t.cpu() for t in (output if isinstance(output, tuple) else (output,))]
        except Exception as failure:
            error = _failure(model, failure)
            for job in batch:
                _reply(job, None, error)
            return
        finally:
            self.metrics.model_seconds.observe(time.perf_counter() - started)
            self.metrics.batch_size.observe(rows)
        offset = 0
        for job in batch:
            pieces = tuple(part[offset : offset + job.size] for part in parts)
            offset += job.size
            result = pieces if isinstance(output, tuple) else pieces[0]
            _reply(job, result, None)
