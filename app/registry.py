"""The loaded models, their workers, and the server's readiness."""

from __future__ import annotations

import ctypes
import ctypes.util
import enum
import gc
import logging
import os
import time

import torch

from app.artifacts import LoadedModel, StartupError, find_artifacts, load_served_model
from app.errors import NotReady, UnknownModel
from app.metrics import Metrics
from app.model_calls import run_in_rows
from app.settings import Settings
from app.stages import Stage
from app.worker import InferenceWorker
from contract import devices as contract_devices
from contract.errors import ArtifactError

logger = logging.getLogger("app.registry")

# The shipped default: the grey digits the page and the README start with, whatever other
# models (emoji-gaussian sorts first) sit beside it.
SHIPPED_DEFAULT = "mnist-bernoulli"


class Readiness(enum.Enum):
    STARTING = "starting"
    READY = "ready"
    STOPPING = "stopping"
    FAILED = "failed"  # the warm-up failed: /livez answers 503, so the pod is restarted


def serving_device(requested: str) -> torch.device:
    """VAE_DEVICE → a torch.device (contract.devices), as a StartupError naming the setting."""
    try:
        return contract_devices.resolve_device(requested)
    except ValueError as error:
        raise StartupError(f"VAE_DEVICE: {error}") from None


def release_freed_memory() -> None:
    """Give the heap that the warm-up freed back to the OS (glibc's malloc_trim). The warm-up's
    largest calls (a 64×64×3 model decoding 256 rows) free about 1 GB that glibc would
    otherwise keep: the idle process held 1.28 GB instead of 0.43. Elsewhere, a no-op."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        pass


def exact_calls(model: LoadedModel, call_rows: int, max_rows: int) -> tuple[bool, bool]:
    """(bit_exact, whole_calls): whether a row decodes to the same bits at every place of a
    `call_rows`-row call beside any other rows, and whether it also does in calls of every
    multiple of `call_rows` up to `max_rows` (app.model_calls.run_in_rows). Both False without fixed
    calls."""
    if call_rows <= 0:
        return False, False
    generator = torch.Generator().manual_seed(0)
    row = torch.randn(1, *model.latent_input, generator=generator)

    def decoded(rows: int, place: int) -> torch.Tensor:
        """Row `place` of a call of `rows` rows, made as the worker makes its calls."""
        z = torch.randn(rows, *model.latent_input, generator=generator) * 2
        z[place] = row[0]
        whole = rows > call_rows
        found = run_in_rows(
            model.module, "decode", z.to(model.device), call_rows, whole, model.call_limits
        )
        return found[place].cpu()

    with torch.inference_mode():
        reference = decoded(call_rows, 0)
        if not torch.equal(decoded(call_rows, call_rows - 1), reference):
            return False, False
        # No call is larger than the model's most rows (run_in_rows splits there): checking
        # multiples up to that covers every call a batch of any size makes.
        most = model.call_limits[1]
        largest = min(max_rows, most) if most is not None else max_rows
        multiples = range(2 * call_rows, max(largest, call_rows) + 1, call_rows)
        whole = all(torch.equal(decoded(rows, rows - 1), reference) for rows in multiples)
    return True, whole


class ModelRegistry:
    """Holds every served model by name, and the one inference worker they share."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings, self.metrics = settings, metrics
        self.models: dict[str, LoadedModel] = {}
        self.worker: InferenceWorker | None = None  # made by load(): all models, one device
        self.readiness = Readiness.STARTING
        self.default_name = ""
        # Work done off the event loop before a model runs (app.inputs, app.bodies).
        self.uploads = Stage("uploads", settings.max_decoding_pixels, "pixels", metrics)
        self.parsing = Stage("parse", settings.heavy_queue_size, "bodies", metrics)

    def load(self) -> None:
        """Load and validate every artifact; the first problem stops startup."""
        device = serving_device(self.settings.device)
        for path in find_artifacts(self.settings.weights):
            started = time.monotonic()
            model = load_served_model(path, device, self.settings.expected_sha256.get(path.name))
            if model.name in self.models:
                raise ArtifactError(
                    f"{path}: model name {model.name!r} is already used by "
                    f"{self.models[model.name].path}"
                )
            self.models[model.name] = model
            logger.info(
                "loaded %s from %s on %s in %.2f s",
                model.name,
                path,
                device,
                time.monotonic() - started,
            )
        default = self.settings.default_model or (
            SHIPPED_DEFAULT if SHIPPED_DEFAULT in self.models else sorted(self.models)[0]
        )
        if default not in self.models:
            raise StartupError(
                f"VAE_DEFAULT_MODEL={default!r} is not among the loaded models "
                f"({', '.join(sorted(self.models))})"
            )
        self.default_name = default
        for name in self.settings.half_precision:
            if name not in self.models:
                raise StartupError(
                    f"VAE_HALF_PRECISION names {name!r}, which is not among the loaded models "
                    f"({', '.join(sorted(self.models))})"
                )
            if device.type == "cuda":
                self.models[name].half = True
            else:
                logger.warning("VAE_HALF_PRECISION: %s runs in float32 on %s", name, device)
        for model in self.models.values():
            self.metrics.model_info.labels(model.name, str(model.device)).set(1)
        self.worker = InferenceWorker(
            str(device),
            queue_size=self.settings.queue_size,
            timeout_s=self.settings.request_timeout_s,
            max_batch_size=self.settings.max_batch_size,
            max_wait_s=self.settings.max_wait_ms / 1000,
            metrics=self.metrics,
            torch_threads=self._torch_threads(),
            heavy_queue_size=self.settings.heavy_queue_size,
            call_rows=self.settings.call_rows,
        )
        self.worker.start()

    def _torch_threads(self) -> int | None:
        """VAE_TORCH_THREADS, else with several worker processes an equal share of the CPUs
        each, so that their OpenMP pools do not oversubscribe the cores."""
        if self.settings.torch_threads is not None or self.settings.workers == 1:
            return self.settings.torch_threads
        return max(1, (os.cpu_count() or 1) // self.settings.workers)

    def warm_up(self) -> None:
        """Run each model once at the largest batch we allow, so first requests are not slow,
        and check that its rows are bit-exact in calls of VAE_CALL_ROWS rows. A failure is
        logged and marks the server FAILED (not ready, not live)."""
        try:
            for model in self.models.values():
                with torch.inference_mode():
                    # One call's worth: the largest call a request makes (at most max_n rows,
                    # and no more than the model's most rows a call).
                    most = model.call_limits[1]
                    warm_rows = min(self.settings.max_n, most or self.settings.max_n)
                    z = torch.zeros((warm_rows, *model.latent_input))
                    images = run_in_rows(
                        model.module, "decode", z.to(model.device), 0, True, model.call_limits
                    )
                    run_in_rows(model.module, "encode", images, 0, True, model.call_limits)
                model.bit_exact, model.whole_calls = exact_calls(
                    model, self.settings.call_rows, self.settings.max_batch_size
                )
                if not model.bit_exact:
                    logger.warning(
                        "%s: a decoded row's bits depend on what shares its call on %s; "
                        "seeded answers get weak ETags and no `immutable` (VAE_CALL_ROWS=%d)",
                        model.name,
                        model.device,
                        self.settings.call_rows,
                    )
        except Exception:
            logger.exception("warm-up failed: vae-serve cannot serve; /livez now answers 503")
            self.readiness = Readiness.FAILED
            raise
        # Everything allocated so far (torch, the models, the app) lives for the whole process.
        # Frozen, it is out of the cyclic collector's reach: without this, collections over a
        # torch-sized heap pause the event loop for tens of milliseconds under load.
        gc.collect()
        gc.freeze()
        release_freed_memory()
        self.readiness = Readiness.READY

    def begin_shutdown(self) -> None:
        """SIGTERM: not ready any more (new model requests get 503), and queued work runs for
        at most the grace period less a second (for the answers to go out) before the rest is
        answered 503. Returns at once."""
        self.readiness = Readiness.STOPPING
        if self.worker is not None:
            self.worker.drain(max(0.0, self.settings.shutdown_grace_s - 1.0))

    def stop(self) -> None:
        self.readiness = Readiness.STOPPING
        if self.worker is not None:
            self.worker.stop(timeout_s=max(1.0, self.settings.shutdown_grace_s))

    @property
    def inference(self) -> InferenceWorker:
        if self.worker is None:
            raise NotReady("the server is starting", headers={"Retry-After": "1"})
        return self.worker

    def get(self, name: str | None) -> LoadedModel:
        if self.readiness is not Readiness.READY:
            raise NotReady(f"the server is {self.readiness.value}", headers={"Retry-After": "1"})
        chosen = name or self.default_name
        if chosen not in self.models:
            raise UnknownModel(
                f"no model named {chosen!r}; loaded: {', '.join(sorted(self.models))}"
            )
        return self.models[chosen]
