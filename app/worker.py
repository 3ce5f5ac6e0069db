"""The inference thread, fed by a bounded queue, with dynamic batching.

Requests for the same model and method (`decode`, `encode`, `forward`) that are queued together
run as one tensor batch: the thread takes the first job, then every job of the same kind that
is already waiting (or arrives within `max_wait_s`), up to `max_batch_size` rows. Rows drawn
from a prior (`PriorRows`) are made there too, a batch's draws transformed in one go. Each
job's `finish` (its PNG or base64 encoding) runs right there on its own rows, so a small
request crosses threads once: event loop → inference thread → event loop, and the loop is
woken once per batch.

Nothing large holds the small requests up: an answer over `LARGE_ANSWER_VALUES` is encoded in
a small pool instead, and work that batches itself (`call`, e.g. /score with k = 1000) runs in
a thread of its own. A job whose inputs cannot be made, or whose rows differ from the size it
declared, fails alone; the rest of its batch is answered. A full queue answers 429 at once
instead of letting latency grow without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import Tensor

from app.artifacts import LoadedModel
from app.errors import ModelFailure, QueueFull, RequestTimeout, ServiceError
from app.metrics import Metrics
from app.sampling import PriorRows, make_prior_rows

T = TypeVar("T")
logger = logging.getLogger("app.worker")
BATCHED_METHODS = ("decode", "encode", "forward")
# Answers larger than this (values after ?scale=) are encoded in the pool: about 2 ms of PNG
# work. A 28×28 digit is 784 values; a 64-grid at scale 4, 800 k.
LARGE_ANSWER_VALUES = 200_000
Rows = Tensor | Callable[[], Tensor] | PriorRows


@dataclass(eq=False, kw_only=True)  # jobs are compared by identity (their fields hold tensors)
class _Pending:
    """What every job has: its model, the future its caller awaits, and when it was queued."""

    model: LoadedModel
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    enqueued: float = field(default_factory=time.perf_counter, init=False)


@dataclass(eq=False, kw_only=True)
class BatchJob(_Pending):
    """`model.<method>(rows)` for `size` rows, joined with others of its kind. `rows`: the
    inputs [size, ...] on the CPU, a function that makes them, or rows drawn from a prior (both
    made in the inference thread, which takes that work off the event loop)."""

    method: str
    rows: Rows
    size: int
    finish: Callable[[Any], Any] | None  # runs on the job's output, in the inference thread
    answer_values: int  # the size of what `finish` makes: large ones go to the encoder pool

    @property
    def key(self) -> tuple[str, str]:
        return self.model.name, self.method


@dataclass(eq=False, kw_only=True)
class CallJob(_Pending):
    """Work that batches itself (e.g. /score), run in the calls thread."""

    work: Callable[[], Any]


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


def _reply(
    jobs: Sequence[Job], results: Sequence[Any], errors: Sequence[BaseException | None]
) -> None:
    """Hand results back: one wake-up per event loop, unless that loop has already closed."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Reply]] = {}
    for job, result, error in zip(jobs, results, errors, strict=True):
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


def _check_size(job: BatchJob, rows: Tensor) -> Tensor:
    if len(rows) != job.size:
        raise ModelFailure(
            f"the inputs of this request are {len(rows)} rows; it declared {job.size}"
        )
    return rows


def _inputs_of(job: BatchJob) -> Tensor:
    """One job's inputs, made if need be, checked against its declared size."""
    if isinstance(job.rows, PriorRows):
        return _check_size(job, make_prior_rows([job.rows])[0])
    return _check_size(job, job.rows() if callable(job.rows) else job.rows)


def _make_inputs(batch: list[BatchJob]) -> list[Tensor | ServiceError]:
    """Each job's inputs, or the error that fails that job alone. Prior draws are made
    together (one transform per prior); if that raises, each is made alone, so that only the
    bad one fails."""
    drawn = [(job, job.rows) for job in batch if isinstance(job.rows, PriorRows)]
    together: dict[int, Tensor] = {}
    if len(drawn) > 1:
        with contextlib.suppress(Exception):
            made = make_prior_rows([rows for _, rows in drawn])
            together = {id(job): rows for (job, _), rows in zip(drawn, made, strict=True)}
    inputs: list[Tensor | ServiceError] = []
    for job in batch:
        try:
            ready = together.get(id(job))
            inputs.append(_check_size(job, ready) if ready is not None else _inputs_of(job))
        except Exception as error:  # a fault in one job's inputs fails that request only
            inputs.append(_failure(job.model, error))
    return inputs


def _finished(job: BatchJob, output: Any) -> tuple[Any, ServiceError | None]:
    """`job.finish(output)`, or the error that fails this request only."""
    if job.finish is None:
        return output, None
    try:
        return job.finish(output), None
    except Exception as failure:  # an encoding fault fails its own request
        return None, _failure(job.model, failure)


class InferenceWorker:
    """Runs every model in one dedicated thread (all models share one device), with a thread
    for self-batching calls and a small pool for encoding large answers."""

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
        self._jobs: queue.Queue[BatchJob | None] = queue.Queue(maxsize=queue_size)
        self._calls: queue.Queue[CallJob | None] = queue.Queue(maxsize=queue_size)
        self._held: BatchJob | None = None  # taken for the next batch
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name=f"infer-{device}", daemon=True),
            threading.Thread(target=self._run_calls, name=f"calls-{device}", daemon=True),
        ]
        self._encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"encode-{device}")

    @property
    def depth(self) -> int:
        return self._jobs.qsize() + self._calls.qsize() + (self._held is not None)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish what is queued, then end the threads. Blocks: call it off the event loop."""
        self._stopping.set()
        for waiting in (self._jobs, self._calls):
            # Wake a thread blocked on get(); if the queue is full it is busy, and it checks
            # the flag before it waits again.
            with contextlib.suppress(queue.Full):
                waiting.put(None, timeout=timeout_s)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout_s)
        self._encoder.shutdown(wait=True)

    async def run(
        self,
        model: LoadedModel,
        method: str,
        rows: Rows,
        finish: Callable[[Any], T] | None = None,
        size: int | None = None,
        answer_values: int = 0,
    ) -> Any:
        """`model.<method>(rows)`, batched with concurrent requests; returns this job's rows,
        or `finish(rows)` computed in the inference thread (in the encoder pool when
        `answer_values` is over LARGE_ANSWER_VALUES). `rows` may be made in the inference
        thread: a function (then `size` says how many rows it makes) or PriorRows."""
        if method not in BATCHED_METHODS:
            raise ValueError(f"cannot batch {method!r}")
        if size is None:
            if isinstance(rows, PriorRows):
                size = rows.n
            elif callable(rows):
                raise ValueError("rows made by a function need their size")
            else:
                size = len(rows)
        loop = asyncio.get_running_loop()
        job = BatchJob(
            model=model,
            future=loop.create_future(),
            loop=loop,
            method=method,
            rows=rows,
            size=size,
            finish=finish,
            answer_values=answer_values,
        )
        return await self._submit(job, self._jobs)

    async def call(self, model: LoadedModel, work: Callable[[], T]) -> T:
        """Run `work` alone in the calls thread (for work that batches itself)."""
        loop = asyncio.get_running_loop()
        job = CallJob(model=model, future=loop.create_future(), loop=loop, work=work)
        result: T = await self._submit(job, self._calls)
        return result

    async def _submit(self, job: Job, into: queue.Queue[Any]) -> Any:
        try:
            into.put_nowait(job)
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

    def _set_threads(self) -> None:
        if self.torch_threads is not None:
            # Set where the models run: an already-running thread keeps its own OpenMP pool.
            torch.set_num_threads(self.torch_threads)

    def _run(self) -> None:
        self._set_threads()
        while True:
            first: BatchJob | None
            if self._held is not None:
                first, self._held = self._held, None
            elif self._stopping.is_set() and self._jobs.empty():
                return
            else:
                first = self._jobs.get()
            if first is None or first.future.done():
                continue  # a wake-up, or a job whose caller timed out while it queued
            self._execute_batch(self._gather(first))
            self.metrics.queue_depth.labels(self.device).set(self.depth)

    def _run_calls(self) -> None:
        self._set_threads()
        while True:
            if self._stopping.is_set() and self._calls.empty():
                return
            job = self._calls.get()
            if job is None or job.future.done():
                continue
            self._execute_call(job)

    def _gather(self, first: BatchJob) -> list[BatchJob]:
        """`first` and the queued jobs of its kind, up to max_batch_size rows."""
        batch, rows = [first], first.size
        deadline = time.perf_counter() + self.max_wait_s
        while rows < self.max_batch_size:
            wait_s = deadline - time.perf_counter()
            try:
                following = (
                    self._jobs.get(timeout=wait_s) if wait_s > 0 else self._jobs.get_nowait()
                )
            except queue.Empty:
                break
            if following is None:
                break  # the stop wake-up, which needs no action here
            if following.future.done():
                continue
            if following.key != first.key or rows + following.size > self.max_batch_size:
                self._held = following  # the next batch starts with it
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
        _reply([job], [result], [error])

    def _execute_batch(self, batch: list[BatchJob]) -> None:
        started = time.perf_counter()
        model, method = batch[0].model, batch[0].method
        for job in batch:
            self.metrics.queue_seconds.observe(started - job.enqueued)
        made = _make_inputs(batch)
        failed = [
            (job, error)
            for job, error in zip(batch, made, strict=True)
            if isinstance(error, ServiceError)
        ]
        if failed:
            _reply([job for job, _ in failed], [None] * len(failed), [e for _, e in failed])
        ready = [
            (job, rows) for job, rows in zip(batch, made, strict=True) if isinstance(rows, Tensor)
        ]
        if not ready:
            return
        jobs = [job for job, _ in ready]
        try:
            with torch.inference_mode():
                inputs = ready[0][1] if len(ready) == 1 else torch.cat([rows for _, rows in ready])
                output = getattr(model.module, method)(inputs.to(model.device))
            parts = [t.cpu() for t in (output if isinstance(output, tuple) else (output,))]
        except Exception as failure:
            error = _failure(model, failure)
            _reply(jobs, [None] * len(jobs), [error] * len(jobs))
            return
        finally:
            self.metrics.model_seconds.observe(time.perf_counter() - started)
            self.metrics.batch_size.observe(sum(job.size for job in jobs))
        self._answer(jobs, parts, isinstance(output, tuple))

    def _answer(self, jobs: list[BatchJob], parts: list[Tensor], as_tuple: bool) -> None:
        """Each job's rows of the output, finished: small answers here, large ones in the pool."""
        encoding = time.perf_counter()
        answered: list[BatchJob] = []
        results: list[Any] = []
        errors: list[ServiceError | None] = []
        offset = 0
        for job in jobs:
            pieces = tuple(part[offset : offset + job.size] for part in parts)
            offset += job.size
            output = pieces if as_tuple else pieces[0]
            if job.finish is not None and job.answer_values > LARGE_ANSWER_VALUES:
                self._encoder.submit(self._answer_alone, job, output)
                continue
            result, error = _finished(job, output)
            answered.append(job)
            results.append(result)
            errors.append(error)
        self.metrics.encode_seconds.observe(time.perf_counter() - encoding)
        _reply(answered, results, errors)

    def _answer_alone(self, job: BatchJob, output: Any) -> None:
        started = time.perf_counter()
        result, error = _finished(job, output)
        self.metrics.encode_seconds.observe(time.perf_counter() - started)
        _reply([job], [result], [error])
