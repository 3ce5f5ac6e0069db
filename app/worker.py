"""The inference thread, fed through bounded stages, with dynamic batching.

Requests for the same model and method (`decode`, `encode`, `forward`) that are queued together
run as one tensor batch: the thread takes the first job, then every job of the same kind that
is already waiting (or arrives within `max_wait_s`), up to `max_batch_size` rows. Rows drawn
from a prior (`PriorRows`) are made there too, a batch's draws transformed in one go. Each
job's `finish` (its PNG or base64 encoding) runs right there on its own rows, so a small
request crosses threads once: event loop → inference thread → event loop.

Nothing large holds the small requests up: they are taken first (app.jobs.JobQueue), an
answer over `LARGE_ANSWER_VALUES` is encoded in a small pool, and work that batches itself
(`call`, e.g. /score with k = 1000) runs in a thread of its own. Every one of those places is
a bounded stage (app.stages): a request takes its places before any of its work is queued, and
a full stage answers 429 at once.

A job whose caller has gone (the client disconnected, or the request timed out) is dropped at
the next stage boundary: it is not batched, not run, not encoded. On SIGTERM (`drain`) the jobs
already running finish; queued ones still run until the grace period's deadline, and whatever
is left then is answered 503.

How each model call is made (rows padded and split so that seeded rows keep their bytes, the
model's batch limits, its precision): app.model_calls.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import torch
from starlette.requests import ClientDisconnect
from torch import Tensor

from app.artifacts import LoadedModel
from app.errors import NotReady, RequestTimeout, ServiceError
from app.jobs import (
    BatchJob,
    CallJob,
    Job,
    JobQueue,
    Receive,
    Rows,
    finished,
    make_inputs,
    reply,
    service_error,
    until_disconnect,
)
from app.metrics import Metrics
from app.model_calls import precision, run_in_rows
from app.sampling import PriorRows
from app.stages import Stage

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
        heavy_queue_size: int = 8,
        call_rows: int = 0,
    ) -> None:
        self.device, self.timeout_s = device, timeout_s
        self.torch_threads = torch_threads
        self.max_batch_size, self.max_wait_s = max_batch_size, max_wait_s
        self.call_rows = call_rows
        self.metrics = metrics
        self.batch_stage = Stage("batch", queue_size, "jobs", metrics)
        self.encode_stage = Stage("encode", heavy_queue_size, "large answers", metrics)
        self.call_stage = Stage("call", heavy_queue_size, "calls", metrics)
        self._jobs = JobQueue()
        self._calls: queue.Queue[CallJob | None] = queue.Queue()
        self._held: BatchJob | None = None  # taken for the next batch
        self._stopping = threading.Event()
        self._deadline = float("inf")  # monotonic time after which queued work is refused
        self._threads = [
            threading.Thread(target=self._run, name=f"infer-{device}", daemon=True),
            threading.Thread(target=self._run_calls, name=f"calls-{device}", daemon=True),
        ]
        self._encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"encode-{device}")

    @property
    def depth(self) -> int:
        """Jobs admitted and not yet done, in every stage."""
        return self.batch_stage.used + self.encode_stage.used + self.call_stage.used

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def drain(self, grace_s: float) -> None:
        """Stop: running work finishes, queued work runs until `grace_s` from now, and what is
        left then is answered 503. Thread-safe; returns at once."""
        self._deadline = min(self._deadline, time.monotonic() + grace_s)
        self._stopping.set()
        for waiting in (self._jobs, self._calls):
            waiting.put(None)  # wake a thread blocked on get()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Drain with `timeout_s` of grace, then end the threads. Blocks: call it off the
        event loop."""
        self.drain(timeout_s)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout_s)
        self._encoder.shutdown(wait=False, cancel_futures=True)

    async def run(
        self,
        model: LoadedModel,
        method: str,
        rows: Rows,
        finish: Callable[[Any], T] | None = None,
        size: int | None = None,
        answer_values: int = 0,
        receive: Receive | None = None,
        exact: bool = False,
    ) -> Any:
        """`model.<method>(rows)`, batched with concurrent requests; returns this job's rows,
        or `finish(rows)` computed in the inference thread (in the encoder pool when
        `answer_values` is over LARGE_ANSWER_VALUES). `rows` may be made in the inference
        thread: a function (then `size` says how many rows it makes) or PriorRows. With
        `receive` (the request's ASGI receive), a client that goes away drops the job. `exact`
        rows (drawn from a seed) run in calls of `call_rows` rows, so their bits never depend
        on what shares the batch."""
        if method not in BATCHED_METHODS:
            raise ValueError(f"cannot batch {method!r}")
        if size is None:
            if isinstance(rows, PriorRows):
                size = rows.n
            elif callable(rows):
                raise ValueError("rows made by a function need their size")
            else:
                size = len(rows)
        large = finish is not None and answer_values > LARGE_ANSWER_VALUES
        self._refuse_when_stopping()
        self.batch_stage.admit()
        if large:
            try:
                self.encode_stage.admit()
            except ServiceError:
                self.batch_stage.release()
                raise
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
            large=large,
            exact=exact,
            row_shape=tuple(rows.shape[1:]) if isinstance(rows, Tensor) else None,
        )
        self._jobs.put(job)
        return await self._wait(job, receive)

    async def call(
        self, model: LoadedModel, work: Callable[[], T], receive: Receive | None = None
    ) -> T:
        """Run `work` alone in the calls thread (for work that batches itself)."""
        self._refuse_when_stopping()
        self.call_stage.admit()
        loop = asyncio.get_running_loop()
        job = CallJob(model=model, future=loop.create_future(), loop=loop, work=work)
        self._calls.put(job)
        result: T = await self._wait(job, receive)
        return result

    def _refuse_when_stopping(self) -> None:
        if self._stopping.is_set():
            raise NotReady("the server is stopping; retry", headers={"Retry-After": "1"})

    async def _wait(self, job: Job, receive: Receive | None) -> Any:
        """The job's result within the timeout; on timeout or disconnect the job's future is
        done, so the worker drops it at the next stage boundary."""
        watcher = None
        if receive is not None:
            watcher = asyncio.ensure_future(until_disconnect(receive, job))
        try:
            return await asyncio.wait_for(job.future, self.timeout_s)
        except TimeoutError:
            self.metrics.dropped.labels("timeout").inc()
            raise RequestTimeout(
                f"model {job.model.name!r} did not answer within "
                f"{self.timeout_s:g} s (VAE_REQUEST_TIMEOUT_S)"
            ) from None
        except ClientDisconnect:
            self.metrics.dropped.labels("client_gone").inc()
            raise
        finally:
            if watcher is not None:
                watcher.cancel()

    def _set_threads(self) -> None:
        if self.torch_threads is not None:
            # Set where the models run: an already-running thread keeps its own OpenMP pool.
            torch.set_num_threads(self.torch_threads)

    def _past_deadline(self) -> bool:
        return self._stopping.is_set() and time.monotonic() > self._deadline

    def _refuse(self, jobs: list[BatchJob]) -> None:
        """Answer jobs the grace period left no time for: 503, retry elsewhere."""
        for job in jobs:
            self._release(job)
        error = NotReady("the server stopped before this request ran; retry")
        reply(jobs, [None] * len(jobs), [error] * len(jobs))

    def _release(self, job: BatchJob, encoded: bool = False) -> None:
        """Give back the stages a job holds: its batch place once, its encoder place when it
        has been encoded (or will never be)."""
        if not job.batched:
            job.batched = True
            self.batch_stage.release()
        if job.large and (encoded or job.future.done()) and not job.encoded:
            job.encoded = True
            self.encode_stage.release()

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
            if first is None:
                continue  # a wake-up
            if first.future.done():  # its caller timed out or went away while it queued
                self._release(first)
                continue
            batch = self._gather(first)
            if self._past_deadline():
                self._refuse(batch)
            else:
                self._execute_batch(batch)
            self.metrics.queue_depth.labels(self.device).set(self.depth)

    def _run_calls(self) -> None:
        self._set_threads()
        while True:
            if self._stopping.is_set() and self._calls.empty():
                return
            job = self._calls.get()
            if job is None:
                continue
            try:
                if job.future.done():
                    continue
                if self._past_deadline():
                    error = NotReady("the server stopped before this request ran; retry")
                    reply([job], [None], [error])
                    continue
                self._execute_call(job)
            finally:
                self.call_stage.release()

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
                self._release(following)
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
            if job.future.done():  # gone while the batch was gathered
                self._release(job)
        batch = [job for job in batch if not job.future.done()]
        for job in batch:
            self.metrics.queue_seconds.observe(started - job.enqueued)
        made = make_inputs(batch)
        failed = [
            (job, error)
            for job, error in zip(batch, made, strict=True)
            if isinstance(error, ServiceError)
        ]
        for job, _ in failed:
            self._release(job, encoded=True)
        if failed:
            reply([job for job, _ in failed], [None] * len(failed), [e for _, e in failed])
        ready = [
            (job, rows) for job, rows in zip(batch, made, strict=True) if isinstance(rows, Tensor)
        ]
        if not ready:
            return
        jobs = [job for job, _ in ready]
        try:
            with torch.inference_mode(), precision(model):
                inputs = ready[0][1] if len(ready) == 1 else torch.cat([rows for _, rows in ready])
                rows = self.call_rows if batch[0].exact else 0
                output = run_in_rows(
                    model.module,
                    method,
                    inputs.to(model.device),
                    rows,
                    model.whole_calls,
                    model.call_limits,
                )
            parts = [t.float().cpu() for t in (output if isinstance(output, tuple) else (output,))]
        except Exception as failure:
            for job in jobs:
                self._release(job, encoded=True)
            error = service_error(model, failure)
            reply(jobs, [None] * len(jobs), [error] * len(jobs))
            return
        finally:
            self.metrics.model_seconds.observe(time.perf_counter() - started)
            self.metrics.batch_size.observe(sum(job.size for job in jobs))
        for job in jobs:
            self._release(job)
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
            if job.future.done():  # gone while the model ran: not worth encoding
                continue
            if job.large:
                self._encoder.submit(self._answer_alone, job, output)
                continue
            result, error = finished(job, output)
            answered.append(job)
            results.append(result)
            errors.append(error)
        self.metrics.encode_seconds.observe(time.perf_counter() - encoding)
        reply(answered, results, errors)

    def _answer_alone(self, job: BatchJob, output: Any) -> None:
        """A large answer, encoded in the pool unless its caller has gone meanwhile."""
        try:
            if job.future.done():
                self.metrics.dropped.labels("before_encoding").inc()
                return
            started = time.perf_counter()
            result, error = finished(job, output)
            self.metrics.encode_seconds.observe(time.perf_counter() - started)
            reply([job], [result], [error])
        finally:
            self._release(job, encoded=True)
