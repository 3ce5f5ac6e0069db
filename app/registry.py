"""The loaded models, their workers, and the server's readiness."""

from __future__ import annotations

import enum
import gc
import logging
import os
import time

import torch

from app.artifacts import LoadedModel, StartupError, find_artifacts, load_served_model
from app.errors import NotReady, UnknownModel
from app.metrics import Metrics
from app.settings import Settings
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


class ModelRegistry:
    """Holds every served model by name, and the one inference worker they share."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings, self.metrics = settings, metrics
        self.models: dict[str, LoadedModel] = {}
        self.worker: InferenceWorker | None = None  # made by load(): all models, one device
        self.readiness = Readiness.STARTING
        self.default_name = ""

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
        )
        self.worker.start()

    def _torch_threads(self) -> int | None:
        """VAE_TORCH_THREADS, else with several worker processes an equal share of the CPUs
        each, so that their OpenMP pools do not oversubscribe the cores."""
        if self.settings.torch_threads is not None or self.settings.workers == 1:
            return self.settings.torch_threads
        return max(1, (os.cpu_count() or 1) // self.settings.workers)

    def warm_up(self) -> None:
        """Run each model once at the largest batch we allow, so first requests are not slow.
        A failure is logged and marks the server FAILED (not ready, not live)."""
        try:
            for model in self.models.values():
                with torch.inference_mode():
                    z = torch.zeros((self.settings.max_n, model.latent_dim), device=model.device)
                    images = model.module.decode(z)
                    model.module.encode(images)
        except Exception:
            logger.exception("warm-up failed: vae-serve cannot serve; /livez now answers 503")
            self.readiness = Readiness.FAILED
            raise
        # Everything allocated so far (torch, the models, the app) lives for the whole process.
        # Frozen, it is out of the cyclic collector's reach: without this, collections over a
        # torch-sized heap pause the event loop for tens of milliseconds under load.
        gc.collect()
        gc.freeze()
        self.readiness = Readiness.READY

    def stop(self) -> None:
        self.readiness = Readiness.STOPPING
        if self.worker is not None:
            self.worker.stop()

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
