"""The batch queue's lanes: small answers before large ones, first come first served within a
lane, a wake-up (None) before either."""

from __future__ import annotations

import queue
from types import SimpleNamespace
from typing import Any, cast

import pytest

from app.jobs import BatchJob, JobQueue


def job(name: str, large: bool) -> BatchJob:
    return cast(BatchJob, SimpleNamespace(name=name, large=large))


def test_small_jobs_go_before_large_ones_and_keep_their_order() -> None:
    jobs = JobQueue()
    for name, large in [
        ("walk-1", True),
        ("sample-1", False),
        ("walk-2", True),
        ("sample-2", False),
    ]:
        jobs.put(job(name, large))
    jobs.put(None)
    taken: list[Any] = [jobs.get(timeout=1) for _ in range(5)]
    assert taken[0] is None
    assert [found.name for found in taken[1:]] == ["sample-1", "sample-2", "walk-1", "walk-2"]
    assert jobs.empty()
    with pytest.raises(queue.Empty):
        jobs.get_nowait()


def test_a_large_job_goes_after_a_streak_of_small_ones() -> None:
    jobs = JobQueue()
    jobs.put(job("walk", True))
    for index in range(20):
        jobs.put(job(f"sample-{index}", False))
    taken = [cast(Any, jobs.get_nowait()).name for _ in range(21)]
    assert taken.index("walk") == JobQueue.SMALL_STREAK
    assert [name for name in taken if name != "walk"] == [f"sample-{i}" for i in range(20)]


def test_get_waits_for_a_job_and_times_out_without_one() -> None:
    jobs = JobQueue()
    with pytest.raises(queue.Empty):
        jobs.get(timeout=0.01)
    jobs.put(job("sample", False))
    found: Any = jobs.get(timeout=1)
    assert found.name == "sample"
