"""Prometheus metrics of one server, in a registry of its own (two apps in one process, as
in the tests, do not share counters)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Latency buckets around what a gate costs: a cached answer in milliseconds, a schema read
# in tens of milliseconds, Flagger's patience at 10 s.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "migsafe_http_requests",
            "HTTP requests by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "migsafe_http_request_duration_seconds",
            "Time to answer, by route.",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "migsafe_gate_decisions",
            "Gate decisions by endpoint and outcome (pass, fail, inconclusive).",
            ["endpoint", "decision"],
            registry=self.registry,
        )
        self.cache = Counter(
            "migsafe_gate_cache",
            "Decision cache lookups by result (hit, miss).",
            ["result"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
