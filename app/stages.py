"""Bounded, counted stages of work: every place a request's work can wait has a capacity.

    stage      unit                   capacity (setting)           what waits there
    batch      jobs                   VAE_QUEUE_SIZE               model calls, queued or batched
    encode     jobs                   VAE_HEAVY_QUEUE_SIZE         large answers (PNG/GIF/WebP)
    call       jobs                   VAE_HEAVY_QUEUE_SIZE         self-batching work (/score)
    uploads    pixels                 VAE_MAX_DECODING_PIXELS      uploaded images being decoded
    parse      bodies                 VAE_HEAVY_QUEUE_SIZE         large JSON bodies being parsed

A request takes its place in every stage it will need before any of its work is queued (`admit`
raises QueueFull, a 429 with Retry-After, when one is full), and gives each back when that stage
is done with it, answered or dropped. So overload is refused at the door instead of piling up
behind it, and `vae_stage_depth{stage}` says where the work is.
"""

from __future__ import annotations

import threading
from typing import Any

from app.errors import QueueFull

RETRY_AFTER = {"Retry-After": "1"}


class Stage:
    """A capacity in units (jobs, pixels, ...), taken by `admit` and given back by `release`.

    Thread-safe: places are taken on the event loop and given back by the worker threads.
    """

    def __init__(self, name: str, capacity: int, unit: str, metrics: Any | None = None) -> None:
        self.name, self.capacity, self.unit = name, capacity, unit
        self._used = 0
        self._lock = threading.Lock()
        self._depth = metrics.stage_depth.labels(name) if metrics is not None else None
        self._refused = metrics.stage_refused.labels(name) if metrics is not None else None

    @property
    def used(self) -> int:
        return self._used

    def admit(self, weight: int = 1) -> None:
        """Take `weight` units, or raise QueueFull (429) when they are not free. A weight larger
        than the whole capacity is refused too; callers bound a request's size first."""
        with self._lock:
            if self._used + weight > self.capacity:
                refused = True
            else:
                refused = False
                self._used += weight
                used = self._used
        if refused:
            if self._refused is not None:
                self._refused.inc()
            raise QueueFull(
                f"the server is busy: its {self.name} stage is full ({self.capacity:,} "
                f"{self.unit}); retry shortly",
                headers=dict(RETRY_AFTER),
            )
        if self._depth is not None:
            self._depth.set(used)

    def release(self, weight: int = 1) -> None:
        with self._lock:
            self._used -= weight
            used = self._used
        if self._depth is not None:
            self._depth.set(used)
