"""The agent's own Prometheus metrics, served on loopback only (``metrics_port``; off by
default): the box's local collector or ``curl`` on the box reads them, nobody on the street
network can. Figures are updated by the loop's thread; the exporter's thread only reads."""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from protocol.reasons import Reason

LOOPBACK = "127.0.0.1"
# zxing-cpp takes a few ms on a 640x480 frame, zbar tens (docs/benchmarks.md).
DECODE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5)


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.frames = Counter(
            "ws_agent_frames",
            "Camera frames the scan loop read (its rate is the loop's frames per second)",
            registry=self.registry,
        )
        self.decode_seconds = Histogram(
            "ws_agent_decode_seconds",
            "Time to look for QR codes in one frame",
            buckets=DECODE_BUCKETS,
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "ws_agent_outbox_depth",
            "Events committed and not yet acknowledged by the server",
            registry=self.registry,
        )
        self.offline_decisions = Counter(
            "ws_agent_offline_decisions",
            "Valid codes the station decided on its own (no answer from the server), by result",
            ["result", "reason"],
            registry=self.registry,
        )
        self.link_up = Gauge(
            "ws_agent_broker_connected",
            "1 while the link to the broker is up",
            registry=self.registry,
        )

    def decided_offline(self, refusal: Reason | None) -> None:
        result, reason = ("granted", Reason.GRANTED) if refusal is None else ("denied", refusal)
        self.offline_decisions.labels(result=result, reason=reason.value).inc()

    def serve(self, port: int) -> WSGIServer:
        """The exporter on 127.0.0.1:``port`` (0: any free port), in its own daemon thread."""
        server, _ = start_http_server(port, addr=LOOPBACK, registry=self.registry)
        return server
