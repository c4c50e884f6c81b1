"""The agent's own metrics, turned by the real loop on the rig: frames and decode time, the
outbox depth, offline decisions by result; the exporter on loopback only, and off unless
asked."""

from __future__ import annotations

import socket
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from protocol.reasons import Reason
from station_agent.metrics import AgentMetrics
from tests.unit.station_agent.rig import Rig, token


def _value(metrics: AgentMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_frames_and_decode_time_count_each_frame_read() -> None:
    rig = Rig.build()
    frames = _value(rig.agent.metrics, "ws_agent_frames_total") or 0.0
    for _ in range(5):
        rig.turn(rig.settings.frame_interval_s)
    metrics = rig.agent.metrics
    assert _value(metrics, "ws_agent_frames_total") == frames + 5
    assert _value(metrics, "ws_agent_decode_seconds_count") == frames + 5

    rig.camera.dead = True  # no frame: nothing decoded, nothing counted
    rig.turn(rig.settings.frame_interval_s)
    assert _value(metrics, "ws_agent_frames_total") == frames + 5


def test_offline_decisions_by_result_and_the_outbox_depth() -> None:
    rig = Rig.build(connected=False)
    text, _ = token()
    rig.scan(text)
    rig.turn(1.0)  # the gauges follow within a second

    metrics = rig.agent.metrics
    assert (
        _value(metrics, "ws_agent_offline_decisions_total", result="granted", reason="granted") == 1
    )
    assert _value(metrics, "ws_agent_outbox_depth") == rig.store.depth() > 0
    assert _value(metrics, "ws_agent_broker_connected") == 0


def test_an_offline_refusal_is_counted_with_its_reason() -> None:
    rig = Rig.build(connected=False, offline_entry="deny")
    text, _ = token()
    rig.scan(text)
    assert (
        _value(
            rig.agent.metrics,
            "ws_agent_offline_decisions_total",
            result="denied",
            reason=Reason.SERVER_UNAVAILABLE.value,
        )
        == 1
    )


def test_the_exporter_listens_on_loopback_only() -> None:
    metrics = AgentMetrics()
    metrics.frames.inc(3)
    server = metrics.serve(0)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        names = {family.name for family in text_string_to_metric_families(text)}
        assert "ws_agent_frames" in names
        # Not on any other address of the box.
        outside = socket.gethostbyname(socket.gethostname())
        if not outside.startswith("127."):
            with socket.socket() as probe:
                probe.settimeout(2)
                assert probe.connect_ex((outside, port)) != 0
    finally:
        server.shutdown()
        server.server_close()
