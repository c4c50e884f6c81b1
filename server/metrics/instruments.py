"""What the consumer measures itself as it decides: decisions by result and reason, and how
long each took to handle. Unregistered: each app's registry collects them through
``ServerCollector``, so two apps in one process (tests) never share a count."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Histogram
from prometheus_client.metrics_core import Metric

from protocol.payloads import AccessDecision

# From a cached answer (~1 ms) to one that missed the station's patience (0.6 s default).
DECISION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class DecisionMetrics:
    def __init__(self) -> None:
        self.decisions = Counter(
            "ws_decisions",
            "Access decisions sent, by result and reason",
            ["result", "reason"],
            registry=None,
        )
        self.latency = Histogram(
            "ws_decision_seconds",
            "Server-side handling time of one access request, checks to answer",
            buckets=DECISION_BUCKETS,
            registry=None,
        )

    def observe(self, decision: AccessDecision, seconds: float) -> None:
        result = "granted" if decision.allowed else "denied"
        self.decisions.labels(result=result, reason=decision.reason.value).inc()
        self.latency.observe(seconds)

    def collect(self) -> Iterable[Metric]:
        yield from self.decisions.collect()
        yield from self.latency.collect()
