"""The device worker: batching, isolation of failures, timeouts and back-pressure."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
import torch
from starlette.requests import ClientDisconnect
from torch import Tensor

from app.artifacts import LoadedModel, load_served_model
from app.errors import ModelFailure, NotReady, QueueFull, RequestTimeout
from app.metrics import Metrics
from app.model_calls import run_in_rows
from app.worker import InferenceWorker
from model.config import ModelConfig
from model.networks import VAE
from tests.utils.artifacts import tiny_metadata

CPU = torch.device("cpu")


class FailsOnHugeLatents(VAE):
    """Decode raises for |z| > 100, like a model hitting an internal error on some inputs."""

    @torch.jit.export
    def decode(self, z: Tensor) -> Tensor:
        if bool(z.abs().max() > 100.0):
            raise RuntimeError("latent out of range")
        return torch.sigmoid(self.decoder(z)[:, :1])


@pytest.fixture(scope="module")
def fragile(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    path = tmp_path_factory.mktemp("fragile") / "fragile.pt"
    module = torch.jit.script(FailsOnHugeLatents(ModelConfig(latent_dim=4, channels=4, hidden=16)))
    metadata = json.dumps({"format_version": 1, **tiny_metadata("fragile")})
    torch.jit.save(module, str(path), _extra_files={"metadata.json": metadata})
    return load_served_model(path, CPU)


def worker(metrics: Metrics, **overrides: float) -> InferenceWorker:
    options = {"queue_size": 64, "timeout_s": 10.0, "max_batch_size": 256, "max_wait_s": 0.05}
    options.update(overrides)
    return InferenceWorker("cpu", metrics=metrics, **options)  # type: ignore[arg-type]


def batch_sizes(metrics: Metrics) -> list[float]:
    samples = metrics.registry.get_sample_value
    count = samples("vae_batch_size_count") or 0.0
    total = samples("vae_batch_size_sum") or 0.0
    return [count, total]


def test_concurrent_requests_form_one_batch_with_unbatched_results(tiny_artifact: Path) -> None:
    model = load_served_model(tiny_artifact, CPU)
    latents = [torch.randn(1, 4, generator=torch.Generator().manual_seed(i)) for i in range(12)]
    metrics = Metrics()
    device_worker = worker(metrics)
    device_worker.start()

    async def together() -> list[Tensor]:
        return list(await asyncio.gather(*(device_worker.run(model, "decode", z) for z in latents)))

    try:
        batched = asyncio.run(together())
    finally:
        device_worker.stop()
    count, rows = batch_sizes(metrics)
    assert rows == 12
    assert count < 12  # some requests shared a model call
    with torch.inference_mode():
        for z, image in zip(latents, batched, strict=True):
            assert torch.allclose(image, model.module.decode(z), atol=1e-6)


def test_encode_splits_both_outputs(tiny_artifact: Path) -> None:
    model = load_served_model(tiny_artifact, CPU)
    images = [torch.rand(n, 1, 28, 28) for n in (1, 3, 2)]
    device_worker = worker(Metrics())
    device_worker.start()

    async def together() -> list[tuple[Tensor, Tensor]]:
        return list(await asyncio.gather(*(device_worker.run(model, "encode", x) for x in images)))

    try:
        results = asyncio.run(together())
    finally:
        device_worker.stop()
    for x, (mean, logvar) in zip(images, results, strict=True):
        assert mean.shape == logvar.shape == (len(x), 4)
        with torch.inference_mode():
            assert torch.allclose(mean, model.module.encode(x)[0], atol=1e-6)


def test_a_failing_request_fails_alone_and_the_next_one_works(fragile: LoadedModel) -> None:
    device_worker = worker(Metrics(), max_wait_s=0.0)
    device_worker.start()

    async def scenario() -> Tensor:
        with pytest.raises(ModelFailure, match="latent out of range"):
            await device_worker.run(fragile, "decode", torch.full((1, 4), 1e3))
        return await device_worker.run(fragile, "decode", torch.zeros(1, 4))

    try:
        assert asyncio.run(scenario()).shape == (1, 1, 28, 28)
    finally:
        device_worker.stop()


def test_full_queue_is_refused_at_once_and_slow_work_times_out(tiny_artifact: Path) -> None:
    model = load_served_model(tiny_artifact, CPU)
    release = threading.Event()
    device_worker = worker(Metrics(), queue_size=2, timeout_s=0.5)  # running + waiting
    device_worker.start()

    def held_rows() -> Tensor:
        release.wait()
        return torch.zeros(1, 4)

    async def scenario() -> None:
        blocker = asyncio.ensure_future(device_worker.run(model, "decode", held_rows, size=1))
        await asyncio.sleep(0.1)  # the inference thread is now busy making the blocker's rows
        waiting = asyncio.ensure_future(device_worker.run(model, "decode", torch.zeros(1, 4)))
        await asyncio.sleep(0.05)
        with pytest.raises(QueueFull) as refused:
            await device_worker.run(model, "decode", torch.zeros(1, 4))
        assert refused.value.headers == {"Retry-After": "1"}
        with pytest.raises(RequestTimeout):
            await blocker
        with pytest.raises(RequestTimeout):
            await waiting

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        device_worker.stop()


def test_torch_threads_are_set_in_the_inference_thread(tiny_artifact: Path) -> None:
    model = load_served_model(tiny_artifact, CPU)
    device_worker = worker(Metrics(), torch_threads=1)
    device_worker.start()
    try:
        assert asyncio.run(device_worker.call(model, torch.get_num_threads)) == 1
    finally:
        device_worker.stop()


def test_rows_made_in_the_inference_thread_and_encoded_there(tiny_artifact: Path) -> None:
    model = load_served_model(tiny_artifact, CPU)
    threads: list[str] = []

    def make() -> Tensor:
        threads.append(threading.current_thread().name)
        return torch.zeros(2, 4)

    def finish(images: Tensor) -> tuple[str, tuple[int, ...]]:
        return threading.current_thread().name, tuple(images.shape)

    device_worker = worker(Metrics(), max_wait_s=0.0)
    device_worker.start()
    try:
        name, shape = asyncio.run(device_worker.run(model, "decode", make, finish, size=2))
    finally:
        device_worker.stop()
    assert threads == [name] == ["infer-cpu"]
    assert shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="need their size"):
        asyncio.run(device_worker.run(model, "decode", make))


def test_one_bad_job_does_not_fail_its_batch(tiny_artifact: Path) -> None:
    """Three jobs in one batch: one maker raises, one makes the wrong number of rows; only
    those two fail, and the good one gets its answer."""
    model = load_served_model(tiny_artifact, CPU)
    release = threading.Event()

    def held() -> Tensor:  # keeps the thread busy while the three queue up together
        release.wait()
        return torch.zeros(1, 4)

    def broken() -> Tensor:
        raise RuntimeError("cannot make these rows")

    device_worker = worker(Metrics(), max_wait_s=0.0)
    device_worker.start()

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(device_worker.run(model, "decode", held, size=1))
        await asyncio.sleep(0.1)
        jobs = [
            device_worker.run(model, "decode", broken, size=1),
            device_worker.run(model, "decode", lambda: torch.zeros(3, 4), size=2),
            device_worker.run(model, "decode", torch.zeros(2, 4)),
        ]
        pending = [asyncio.ensure_future(job) for job in jobs]
        await asyncio.sleep(0.05)
        release.set()
        await first
        return list(await asyncio.gather(*pending, return_exceptions=True))

    try:
        bad_maker, wrong_size, good = asyncio.run(scenario())
    finally:
        release.set()
        device_worker.stop()
    assert isinstance(bad_maker, ModelFailure)
    assert "cannot make these rows" in str(bad_maker)
    assert isinstance(wrong_size, ModelFailure)
    assert "3 rows; it declared 2" in str(wrong_size)
    assert isinstance(good, Tensor)
    assert good.shape == (2, 1, 28, 28)


def test_jobs_take_keyword_fields_only(tiny_artifact: Path) -> None:
    from app.jobs import BatchJob

    with pytest.raises(TypeError):
        BatchJob(load_served_model(tiny_artifact, CPU))  # type: ignore[misc,call-arg]


def test_a_long_call_does_not_hold_up_batches(tiny_artifact: Path) -> None:
    """/score-like work runs in its own thread: a decode queued behind it is answered first."""
    model = load_served_model(tiny_artifact, CPU)
    release = threading.Event()
    device_worker = worker(Metrics())
    device_worker.start()

    async def scenario() -> bool:
        long_call = asyncio.ensure_future(device_worker.call(model, release.wait))
        await asyncio.sleep(0.05)
        await asyncio.wait_for(device_worker.run(model, "decode", torch.zeros(1, 4)), 2.0)
        answered_first = not long_call.done()
        release.set()
        await long_call
        return answered_first

    try:
        assert asyncio.run(scenario())
    finally:
        release.set()
        device_worker.stop()


def test_large_answers_are_encoded_in_the_pool(tiny_artifact: Path) -> None:
    from app.worker import LARGE_ANSWER_VALUES

    model = load_served_model(tiny_artifact, CPU)

    def where(_: Tensor) -> str:
        return threading.current_thread().name

    device_worker = worker(Metrics())
    device_worker.start()

    async def scenario() -> tuple[str, str]:
        z = torch.zeros(1, 4)
        small = await device_worker.run(model, "decode", z, where, answer_values=784)
        large = device_worker.run(model, "decode", z, where, answer_values=LARGE_ANSWER_VALUES + 1)
        return small, await large

    try:
        small, large = asyncio.run(scenario())
    finally:
        device_worker.stop()
    assert small == "infer-cpu"
    assert large.startswith("encode-cpu")


def blocked_worker(**overrides: float) -> tuple[InferenceWorker, threading.Event, Metrics]:
    """A started worker, and an event that keeps its inference thread busy until set (queue a
    job whose rows are `held` first)."""
    metrics = Metrics()
    device_worker = worker(metrics, max_wait_s=0.0, **overrides)
    device_worker.start()
    return device_worker, threading.Event(), metrics


def dropped(metrics: Metrics, reason: str) -> float:
    return metrics.registry.get_sample_value("vae_dropped_total", {"reason": reason}) or 0.0


def test_large_answers_are_bounded_by_the_encode_stage(tiny_artifact: Path) -> None:
    """Large answers wait for the encoder pool in a stage of VAE_HEAVY_QUEUE_SIZE places; the
    next one is a 429 at once, before its model work is queued, and nothing piles up."""
    model = load_served_model(tiny_artifact, CPU)
    device_worker, release, metrics = blocked_worker(heavy_queue_size=2)
    encoded: list[int] = []

    def slow_encoding(images: Tensor) -> int:
        release.wait()
        encoded.append(len(images))
        return len(images)

    async def scenario() -> list[object]:
        big = {"finish": slow_encoding, "answer_values": 10**6}
        first = [
            asyncio.ensure_future(device_worker.run(model, "decode", torch.zeros(1, 4), **big))
            for _ in range(2)
        ]
        await asyncio.sleep(0.2)
        with pytest.raises(QueueFull, match="encode stage is full"):
            await device_worker.run(model, "decode", torch.zeros(1, 4), **big)
        small = await device_worker.run(model, "decode", torch.zeros(1, 4))  # not held up
        assert small.shape == (1, 1, 28, 28)
        release.set()
        return list(await asyncio.gather(*first))

    try:
        assert asyncio.run(scenario()) == [1, 1]
    finally:
        release.set()
        device_worker.stop()
    assert encoded == [1, 1]
    assert device_worker.encode_stage.used == 0
    refused = metrics.registry.get_sample_value("vae_stage_refused_total", {"stage": "encode"})
    assert refused == 1


def test_work_for_a_client_that_left_is_never_done(tiny_artifact: Path) -> None:
    """A request queued behind a busy thread whose client disconnects: its rows are never made
    and it is counted as dropped; the caller sees ClientDisconnect."""
    model = load_served_model(tiny_artifact, CPU)
    device_worker, release, metrics = blocked_worker()
    made: list[int] = []

    def held() -> Tensor:
        release.wait()
        return torch.zeros(1, 4)

    def counted() -> Tensor:
        made.append(1)
        return torch.zeros(1, 4)

    async def scenario() -> None:
        blocker = asyncio.ensure_future(device_worker.run(model, "decode", held, size=1))
        await asyncio.sleep(0.1)
        gone = asyncio.Event()

        async def receive() -> dict[str, str]:
            await gone.wait()
            return {"type": "http.disconnect"}

        leaving = asyncio.ensure_future(
            device_worker.run(model, "decode", counted, size=1, receive=receive)
        )
        await asyncio.sleep(0.05)
        gone.set()
        with pytest.raises(ClientDisconnect):
            await leaving
        release.set()
        await blocker
        await device_worker.run(model, "decode", torch.zeros(1, 4))  # the thread moved on

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        device_worker.stop()
    assert made == []
    assert dropped(metrics, "client_gone") == 1
    assert device_worker.batch_stage.used == 0


def test_a_large_answer_whose_caller_timed_out_is_not_encoded(tiny_artifact: Path) -> None:
    model = load_served_model(tiny_artifact, CPU)
    device_worker, release, metrics = blocked_worker(timeout_s=0.3)
    encoded: list[int] = []

    async def scenario() -> None:
        def held() -> Tensor:
            release.wait()
            return torch.zeros(1, 4)

        job = device_worker.run(model, "decode", held, encoded.append, size=1, answer_values=10**6)
        with pytest.raises(RequestTimeout):
            await job
        release.set()
        await asyncio.sleep(0.3)  # the batch ran; its answer reached the pool

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        device_worker.stop()
    assert encoded == []
    assert dropped(metrics, "timeout") == 1
    assert device_worker.encode_stage.used == 0


def test_draining_answers_what_the_grace_period_leaves_503(tiny_artifact: Path) -> None:
    """SIGTERM (drain): the running job finishes, queued jobs run while the grace period lasts,
    and what is left at its end is answered 503 at once; new work is refused."""
    model = load_served_model(tiny_artifact, CPU)
    device_worker, release, _ = blocked_worker()

    def held() -> Tensor:
        release.wait()
        return torch.zeros(1, 4)

    async def scenario() -> tuple[object, list[object]]:
        running = asyncio.ensure_future(device_worker.run(model, "decode", held, size=1))
        await asyncio.sleep(0.1)
        queued = [
            asyncio.ensure_future(device_worker.run(model, "decode", torch.zeros(1, 4)))
            for _ in range(3)
        ]
        await asyncio.sleep(0.05)
        device_worker.drain(0.2)
        with pytest.raises(NotReady, match="stopping"):
            await device_worker.run(model, "decode", torch.zeros(1, 4))
        await asyncio.sleep(0.3)  # past the grace period
        release.set()
        return await running, list(await asyncio.gather(*queued, return_exceptions=True))

    try:
        finished, left = asyncio.run(scenario())
    finally:
        release.set()
        device_worker.stop()
    assert isinstance(finished, Tensor)
    assert all(isinstance(error, NotReady) for error in left), left
    assert device_worker.batch_stage.used == 0


def test_calls_of_fixed_rows_give_every_row_the_same_bits_whatever_shares_them() -> None:
    """run_in_rows: a batch split into calls of exactly `rows` rows (the last padded) answers
    each row as the same row does in any other batch."""
    module = torch.jit.script(VAE(ModelConfig(latent_dim=4, channels=4, hidden=16)).eval())
    z = torch.randn(37, 4, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        alone = run_in_rows(module, "decode", z[5:6], 16)
        for size in (2, 16, 17, 37):
            batch = torch.cat([z[:5], z[5:6], z[6 : 5 + size]])[:size] if size > 5 else None
            if batch is None:
                continue
            assert torch.equal(run_in_rows(module, "decode", batch, 16)[5], alone[0]), size
        mean, logvar = run_in_rows(module, "encode", torch.rand(3, 1, 28, 28), 16)
    assert mean.shape == logvar.shape == (3, 4)


def test_rows_are_padded_to_a_multiple_and_run_whole_or_split() -> None:
    calls: list[int] = []

    class Counting:
        def decode(self, z: Tensor) -> Tensor:
            calls.append(len(z))
            return z * 2

    z = torch.arange(20.0)[:, None]
    whole = run_in_rows(Counting(), "decode", z, 16, whole=True)
    assert calls == [32]  # padded to a multiple of 16, one call
    split = run_in_rows(Counting(), "decode", z, 16, whole=False)
    assert calls == [32, 16, 16]  # the same padding, in calls of exactly 16
    free = run_in_rows(Counting(), "decode", z, 0)
    assert calls == [32, 16, 16, 20]  # rows a client sent: as they come
    for output in (whole, split, free):
        assert torch.equal(output, z * 2)
