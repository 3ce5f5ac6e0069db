"""The jobs the inference worker runs, and what it does with one job: make its inputs, finish
its output, hand the result back to the event loop that waits for it. A fault in any of these
fails that job alone (app.worker)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from starlette.requests import ClientDisconnect
from torch import Tensor

from app.artifacts import LoadedModel
from app.errors import ModelFailure, ServiceError
from app.sampling import PriorRows, make_prior_rows

logger = logging.getLogger("app.worker")
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
    answer_values: int  # the size of what `finish` makes
    large: bool = False  # encoded in the encoder pool; holds a place in the encode stage
    # Rows drawn from a seed: their bytes are promised (ETags, X-Seed), so they run in model
    # calls of VAE_CALL_ROWS rows (app.worker); rows a client sent run in calls of any size.
    exact: bool = False
    # Which stage places it has given back (app.worker._release): each exactly once.
    batched: bool = field(default=False, init=False)
    encoded: bool = field(default=False, init=False)

    # The shape of one row, when a model takes several (any-size models): rows of different
    # shapes never share a call. None: the model's one shape.
    row_shape: tuple[int, ...] | None = None

    @property
    def key(self) -> tuple[str, str, bool, tuple[int, ...] | None]:
        return self.model.name, self.method, self.exact, self.row_shape


@dataclass(eq=False, kw_only=True)
class CallJob(_Pending):
    """Work that batches itself (e.g. /score), run in the calls thread."""

    work: Callable[[], Any]


Job = BatchJob | CallJob
Receive = Callable[[], Awaitable[Any]]


async def until_disconnect(receive: Receive, job: Job) -> None:
    """Fail `job` with ClientDisconnect when its client goes away. The request's body has been
    read, so the next ASGI message is the disconnect (or the end of the answer)."""
    with contextlib.suppress(Exception):  # a receive that fails has nothing more to say
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if not job.future.done():
                    job.future.set_exception(ClientDisconnect())
                return


class JobQueue:
    """The batch queue, in two lanes: jobs with small answers go before jobs with large ones
    (animations, big grids), first come first served within a lane. So a `/sample?n=1` waits
    for the call running now, not for every walk queued before it. A large job is not starved:
    after SMALL_STREAK small jobs taken while it waits, it goes next. None (a wake-up) goes
    first. Thread-safe; `get` raises queue.Empty as queue.Queue's does."""

    SMALL_STREAK = 8

    def __init__(self) -> None:
        self._lanes: tuple[collections.deque[BatchJob | None], ...] = (
            collections.deque(),  # wake-ups
            collections.deque(),  # small answers
            collections.deque(),  # large answers
        )
        self._ready = threading.Condition()
        self._streak = 0  # small jobs taken in a row while a large one waited

    def put(self, job: BatchJob | None) -> None:
        lane = 0 if job is None else 2 if job.large else 1
        with self._ready:
            self._lanes[lane].append(job)
            self._ready.notify()

    def get(self, timeout: float | None = None) -> BatchJob | None:
        with self._ready:
            if not self._ready.wait_for(self._has_any, timeout):
                raise queue.Empty
            return self._take()

    def get_nowait(self) -> BatchJob | None:
        with self._ready:
            if not self._has_any():
                raise queue.Empty
            return self._take()

    def empty(self) -> bool:
        with self._ready:
            return not self._has_any()

    def _has_any(self) -> bool:
        return any(self._lanes)

    def _take(self) -> BatchJob | None:
        wake_ups, small, large = self._lanes
        if wake_ups:
            return wake_ups.popleft()
        if small and not (large and self._streak >= self.SMALL_STREAK):
            self._streak = self._streak + 1 if large else 0
            return small.popleft()
        self._streak = 0
        return large.popleft()


Reply = tuple[asyncio.Future[Any], Any, BaseException | None]


def _settle(replies: list[Reply]) -> None:
    for future, result, error in replies:
        if future.done():  # the caller timed out and gave up
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def reply(
    jobs: Sequence[Job], results: Sequence[Any], errors: Sequence[BaseException | None]
) -> None:
    """Hand results back: one wake-up per event loop, unless that loop has already closed."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Reply]] = {}
    for job, result, error in zip(jobs, results, errors, strict=True):
        by_loop.setdefault(job.loop, []).append((job.future, result, error))
    for loop, replies in by_loop.items():
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, replies)


def service_error(model: LoadedModel, error: Exception) -> ServiceError:
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


def _shaped(job: BatchJob, rows: Tensor) -> Tensor:
    """Latents made flat (prior draws, paths) as the model's decode takes them."""
    return job.model.as_decode_input(rows) if job.method == "decode" else rows


def _inputs_of(job: BatchJob) -> Tensor:
    """One job's inputs, made if need be, checked against its declared size."""
    if isinstance(job.rows, PriorRows):
        return _check_size(job, _shaped(job, make_prior_rows([job.rows])[0]))
    return _check_size(job, _shaped(job, job.rows() if callable(job.rows) else job.rows))


def make_inputs(batch: list[BatchJob]) -> list[Tensor | ServiceError]:
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
            own = _check_size(job, _shaped(job, ready)) if ready is not None else _inputs_of(job)
            inputs.append(own)
        except Exception as error:  # a fault in one job's inputs fails that request only
            inputs.append(service_error(job.model, error))
    return inputs


def finished(job: BatchJob, output: Any) -> tuple[Any, ServiceError | None]:
    """`job.finish(output)`, or the error that fails this request only."""
    if job.finish is None:
        return output, None
    try:
        return job.finish(output), None
    except Exception as failure:  # an encoding fault fails its own request
        return None, service_error(job.model, failure)
