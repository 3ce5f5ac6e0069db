"""The inference thread, fed by a bounded queue, with dynamic batching.

Requests for the same model and method (`decode`, `encode`, `forward`) that are queued together
run as one tensor batch: the thread takes the first job, then every job of the same kind that
is already waiting (or arrives within `max_wait_s`), up to `max_batch_size` rows. Each job's
`finish` (its PNG or base64 encoding) runs right there on its own rows, so a request crosses
threads once: event loop → inference thread → event loop. The loop is woken once per batch.
Other work (`call`) runs alone. A full queue answers 429 at once instead of letting latency
grow without bound.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
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


@dataclass(eq=False)  # jobs are compared by identity (their fields hold tensors)
class _Pending:
    """What every job has: its model, the future its caller awaits, and when it was queued."""

    model: LoadedModel
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    enqueued: float = field(default_factory=time.perf_counter, init=False)


@dataclass(eq=False)
class BatchJob(_Pending):
    """`model.<method>(rows)` for rows [n, ...] on the CPU, joined with others of its kind."""

    method: str = "decode"
    # The inputs [n, ...] on the CPU, or a function that makes them in the inference thread
    # (sampling: it takes that work off the event loop); `size` is n either way.
    rows: Tensor | Callable[[], Tensor] = field(default_factory=lambda: torch.empty(0))
    size: int = 0
    finish: Callable[[Any], Any] | None = None  # runs in the inference thread on the output

    @property
    def key(self) -> tuple[str, str]:
        return self.model.name, self.method

    def inputs(self) -> Tensor:
        return self.rows() if callable(self.rows) else self.rows


@dataclass(eq=False)
class CallJob(_Pending):
    """Work that batches itself (e.g. /score), run alone."""

    work: Callable[[], Any] = lambda: None


Job = BatchJob | CallJob
Reply = tuple[asyncio.Future[Any], Any, BaseException | None]


def _settle(replies: list[Reply]) -> None:
    for future, result, error in replies:
        if future.done():  # the caller timed out and gave up
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def _reply(jobs: Sequence[Job], results: Sequence[Any], error: BaseException | None = None) -> None:
    """Hand results back: one wake-up per event loop, unless that loop has already closed."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Reply]] = {}
    for job, result in zip(jobs, results, strict=True):
        by_loop.setdefault(job.loop, []).append((job.future, result, error))
    for loop, replies in by_loop.items():
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, replies)


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


class InferenceWorker:
    """Runs every model in one dedicated thread (all models share one device)."""

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
        self._held: collections.deque[Job] = collections.deque()  # taken for a later batch
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

    async def run(
        self,
        model: LoadedModel,
        method: str,
        rows: Tensor | Callable[[], Tensor],
        finish: Callable[[Any], T] | None = None,
        size: int | None = None,
    ) -> Any:
        """`model.<method>(rows)`, batched with concurrent requests; returns this job's rows,
        or `finish(rows)` computed in the inference thread. `rows` may be a function that makes
        the inputs in the inference thread; then `size` says how many it makes."""
        if method not in BATCHED_METHODS:
            raise ValueError(f"cannot batch {method!r}")
        if size is None:
            if callable(rows):
                raise ValueError("rows made by a function need their size")
            size = len(rows)
        loop = asyncio.get_running_loop()
        job = BatchJob(model, loop.create_future(), loop, method, rows, size, finish)
        return await self._submit(job)

    async def call(self, model: LoadedModel, work: Callable[[], T]) -> T:
        """Run `work` alone in the inference thread (for work that batches itself)."""
        loop = asyncio.get_running_loop()
        result: T = await self._submit(CallJob(model, loop.create_future(), loop, work))
        return result

    async def _submit(self, job: Job) -> Any:
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            raise QueueFull(
                f"the {self.device} inference queue is full; retry shortly",
                headers={"Retry-After": "1"},
            ) from None
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
            first: Job | None
            if self._held:
                first = self._held.popleft()
            elif self._stopping.is_set() and self._jobs.empty():
                return
            else:
                first = self._jobs.get()
            if first is None or first.future.done():
                continue  # a wake-up, or a job whose caller timed out while it queued
            if isinstance(first, CallJob):
                self._execute_call(first)
            else:
                self._execute_batch(self._gather(first))
            self.metrics.queue_depth.labels(self.device).set(self.depth)

    def _gather(self, first: BatchJob) -> list[BatchJob]:
        """`first` and the queued jobs of its kind, up to max_batch_size rows."""
        batch, rows = [first], first.size
        deadline = time.perf_counter() + self.max_wait_s
        while rows < self.max_batch_size:
            following = self._take(deadline - time.perf_counter())
            if following is None:
                break  # nothing more in time (or the stop wake-up, which needs no action)
            if following.future.done():
                continue
            if (
                isinstance(following, CallJob)
                or following.key != first.key
                or rows + following.size > self.max_batch_size
            ):
                self._held.append(following)  # the next batch starts with it
                break
            batch.append(following)
            rows += following.size
        return batch

    def _execute_call(self, job: CallJob) -> None:
        started = time.perf_counter()
        self.metrics.queue_seconds.observe(started - job.enqueued)
        result, error = None, None
        try:
            with torch.inference_mode():
                result = job.work()
        except Exception as failure:  # a fault in the model fails this request only
            error = _failure(job.model, failure)
        self.metrics.model_seconds.observe(time.perf_counter() - started)
        _reply([job], [result], error)

    def _execute_batch(self, batch: list[BatchJob]) -> None:
        started = time.perf_counter()
        model, method = batch[0].model, batch[0].method
        for job in batch:
            self.metrics.queue_seconds.observe(started - job.enqueued)
        rows = sum(job.size for job in batch)
        try:
            with torch.inference_mode():
                parts_in = [job.inputs() for job in batch]
                inputs = parts_in[0] if len(batch) == 1 else torch.cat(parts_in)
                output = getattr(model.module, method)(inputs.to(model.device))
            parts = [t.cpu() for t in (output if isinstance(output, tuple) else (output,))]
        except Exception as failure:
            _reply(batch, [None] * len(batch), _failure(model, failure))
            return
        finally:
            self.metrics.model_seconds.observe(time.perf_counter() - started)
            self.metrics.batch_size.observe(rows)
        encoding = time.perf_counter()
        results: list[Any] = []
        failed: list[BatchJob] = []
        offset = 0
        for job in batch:
            pieces = tuple(part[offset : offset + job.size] for part in parts)
            offset += job.size
            result = pieces if isinstance(output, tuple) else pieces[0]
            if job.finish is not None:
                try:
                    result = job.finish(result)
                except Exception as failure:  # an encoding fault fails its own request
                    _reply([job], [None], _failure(model, failure))
                    failed.append(job)
                    continue
            results.append(result)
        self.metrics.encode_seconds.observe(time.perf_counter() - encoding)
        _reply([job for job in batch if job not in failed], results)
