"""Prometheus metrics, in a registry per app so tests can build many apps in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Latency buckets from 0.5 ms to 10 s: single CPU decodes take about a millisecond.
_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vae_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vae_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.queue_seconds = Histogram(
            "vae_queue_seconds",
            "time a job waited for the model",
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.model_seconds = Histogram(
            "vae_model_seconds",
            "time the model ran per batch",
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.encode_seconds = Histogram(
            "vae_encode_seconds",
            "time spent writing PNG/JSON",
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "vae_batch_size", "rows per model call", buckets=_BATCH, registry=self.registry
        )
        self.queue_depth = Gauge(
            "vae_queue_depth", "jobs waiting per device", ["device"], registry=self.registry
        )
        self.stage_depth = Gauge(
            "vae_stage_depth",
            "work admitted and not yet done, per stage (app.stages; uploads in pixels)",
            ["stage"],
            registry=self.registry,
        )
        self.stage_refused = Counter(
            "vae_stage_refused_total",
            "requests answered 429 because a stage was full",
            ["stage"],
            registry=self.registry,
        )
        self.dropped = Counter(
            "vae_dropped_total",
            "jobs dropped before their work was done: timeout, client_gone, before_encoding",
            ["reason"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "vae_model_info",
            "loaded models and their device",
            ["model", "device"],
            registry=self.registry,
        )
