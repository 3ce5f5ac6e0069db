"""Prometheus metrics, in a registry per app so tests can build many apps in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "vae_queue_depth", "jobs waiting per model", ["model"], registry=self.registry
        )
        self.model_info = Gauge(
            "vae_model_info",
            "loaded models and their device",
            ["model", "device"],
            registry=self.registry,
        )
