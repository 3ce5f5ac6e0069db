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
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import torch
from torch import Tensor

from app.artifacts import LoadedModel
from app.errors import QueueFull, RequestTimeout, ServiceError
from app.jobs import BatchJob, CallJob, Job, Rows, finished, make_inputs, reply, service_error
from app.metrics import Metrics
from app.sampling import PriorRows

T = TypeVar("T")
BATCHED_METHODS = ("decode", "encode", "forward")
# Answers larger than this (values after ?scale=) are encoded in the pool: about 2 ms of PNG
# work. A 28×28 digit is 784 values; a 64-grid at scale 4, 800 k.
LARGE_ANSWER_VALUES = 200_000


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
            error = service_error(job.model, failure)
        self.metrics.model_seconds.observe(time.perf_counter() - started)
        reply([job], [result], [error])

    def _execute_batch(self, batch: list[BatchJob]) -> None:
        started = time.perf_counter()
        model, method = batch[0].model, batch[0].method
        for job in batch:
            self.metrics.queue_seconds.observe(started - job.enqueued)
        made = make_inputs(batch)
        failed = [
            (job, error)
            for job, error in zip(batch, made, strict=True)
            if isinstance(error, ServiceError)
        ]
        if failed:
            reply([job for job, _ in failed], [None] * len(failed), [e for _, e in failed])
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
            error = service_error(model, failure)
            reply(jobs, [None] * len(jobs), [error] * len(jobs))
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
            result, error = finished(job, output)
            answered.append(job)
            results.append(result)
            errors.append(error)
        self.metrics.encode_seconds.observe(time.perf_counter() - encoding)
        reply(answered, results, errors)

    def _answer_alone(self, job: BatchJob, output: Any) -> None:
        started = time.perf_counter()
        result, error = finished(job, output)
        self.metrics.encode_seconds.observe(time.perf_counter() - started)
        reply([job], [result], [error])
