"""/livez, /readyz and /metrics on the real server: ready, then not (broker stopped, database
gone) with the reason, back again, each loss and recovery logged once; the metrics after a
real entry through the real broker."""

from __future__ import annotations

import json
import logging
import random
import re
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from demo.broker import PrivateBroker
from firmware_sim.rider import enter
from protocol import topics
from protocol.payloads import ProvisioningBundle
from protocol.topics import Family
from server.core.settings import ServerSettings
from telemetry.logs import ContextFilter
from tests.conftest import ADMIN_PASSWORD, SERVER_BROKER_PASSWORD, logged_in_server
from tests.support.mqtt_peer import mqtt_peer
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

METRICS_TOKEN = "test-metrics-token-0123456789"
MakeStation = Callable[..., StationHarness]


@pytest.fixture
def watched(
    broker: PrivateBroker, tmp_path: Path, bundles: dict[str, ProvisioningBundle]
) -> Iterator[ServerHarness]:
    """The server with metrics on (the shared fixture leaves them off)."""
    settings = ServerSettings(
        data_dir=tmp_path / "server",
        audience="ws-test",
        admin_password=ADMIN_PASSWORD,
        metrics_token=METRICS_TOKEN,  # type: ignore[arg-type]
        **broker.server_settings(SERVER_BROKER_PASSWORD),  # type: ignore[arg-type]
    )
    with logged_in_server(settings, broker, bundles) as harness:
        yield harness


class _ContextSeen(logging.Handler):
    """The request id each message was logged under, as the JSON lines would carry it."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(ContextFilter())
        self.request_ids: dict[str, str | None] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.request_ids[record.getMessage()] = getattr(record, "request_id", None)


def _ready(server: ServerHarness) -> dict[str, object]:
    answer = server.client.get("/readyz")
    body: dict[str, object] = answer.json()
    assert answer.status_code == (200 if body["status"] == "ready" else 503)
    return body


def _messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def _scrape(server: ServerHarness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = server.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_live_and_ready(watched: ServerHarness) -> None:
    for path in ("/livez", "/healthz"):
        answer = watched.client.get(path, headers={"Authorization": ""})
        assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    body = wait_for(lambda: _ready(watched)["status"] == "ready" and _ready(watched))
    assert body == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "ok", "consumer": "ok"},
    }
    assert watched.client.get("/livez").headers["X-Request-ID"]


def test_broker_stopped_makes_not_ready_and_is_logged_once_each_way(
    watched: ServerHarness, broker: PrivateBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    wait_for(lambda: _ready(watched)["status"] == "ready", what="ready")

    broker.stop()
    # Each link finds the broker gone on its own read: wait for both (one may be first by a
    # moment: seen once in a clean-clone run, the TLS variant).
    body = wait_for(
        lambda: (
            (ready := _ready(watched))["status"] == "not ready"
            and "requests" in str(ready["checks"])
            and ready
        ),
        what="not ready, both links lost",
    )
    assert body["checks"] == {
        "database": "ok",
        "broker": "not connected: bulk, requests link",
        "consumer": "ok",
    }
    for _ in range(3):  # asked again and again: still one line per link
        assert _ready(watched)["status"] == "not ready"
    broker.start()
    wait_for(lambda: _ready(watched)["status"] == "ready", timeout_s=30, what="ready again")

    lost = _messages(caplog, "lost")
    regained = _messages(caplog, "regained")
    assert len([m for m in lost if m.startswith("broker (server-")]) == 2  # requests and bulk
    assert len([m for m in regained if m.startswith("broker (server-")]) == 2


def test_database_gone_makes_not_ready_and_is_logged_once_each_way(
    watched: ServerHarness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    wait_for(lambda: _ready(watched)["status"] == "ready", what="ready")
    data_dir = tmp_path / "server"

    data_dir.rename(tmp_path / "elsewhere")  # the SQLite file's directory is gone
    seen = _ContextSeen()
    logging.getLogger().addHandler(seen)
    try:
        lost = watched.client.get("/readyz", headers={"X-Request-ID": "probe-1"})
        assert (lost.status_code, lost.headers["X-Request-ID"]) == (503, "probe-1")
        for _ in range(3):
            body = _ready(watched)
            assert body["status"] == "not ready"
            assert body["checks"]["database"] == "unreachable (OperationalError)"  # type: ignore[index]
    finally:
        logging.getLogger().removeHandler(seen)
        (tmp_path / "elsewhere").rename(data_dir)
    assert _ready(watched)["status"] == "ready"

    assert _messages(caplog, "database lost") == ["database lost: unreachable (OperationalError)"]
    assert _messages(caplog, "database regained") == ["database regained"]
    # The line was written while that request was served: JSON logs carry its id.
    assert seen.request_ids["database lost: unreachable (OperationalError)"] == "probe-1"


def test_metrics_need_the_token(watched: ServerHarness) -> None:
    assert watched.client.get("/metrics").status_code == 401  # the staff session is not it
    wrong = watched.client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 28})
    assert wrong.status_code == 401
    assert _scrape(watched)  # with it


def test_metrics_are_off_without_a_token(server: ServerHarness) -> None:
    assert server.client.get("/metrics").status_code == 404


def test_metrics_count_a_real_entry(watched: ServerHarness, make_station: MakeStation) -> None:
    station_id = unique_station_id()
    watched.add_station(station_id)
    station = make_station(station_id)
    _, link = watched.enrol()
    before = _scrape(watched)
    granted = ("ws_decisions_total", (("reason", "granted"), ("result", "granted")))
    assert granted not in before

    shown = enter(station.sim, watched.qr_png(link), random.Random(5), lambda _: None)
    assert shown is not None
    assert shown.allowed
    wait_for(lambda: len(watched.events(station_id)) >= 3, what="the entry's events stored")

    after = wait_for(lambda: (m := _scrape(watched))[("ws_events_stored_total", ())] >= 3 and m)
    assert after[granted] == 1
    assert after[("ws_decision_seconds_count", ())] == 1
    assert after[("ws_stations", (("state", "online"),))] == 1
    assert after[("ws_stations", (("state", "offline"),))] == 0
    assert after[("ws_occupancy", ())] == 1
    assert after[("ws_published_total", (("kind", "access_decision"),))] == 1
    assert after[("ws_published_total", (("kind", "config"),))] >= 1
    assert after[("ws_consumer_queue_depth", (("lane", "access"),))] == 0
    assert after[("ws_broker_connected", (("link", "requests"),))] == 1
    # Each consumer thread's CPU clock: the access worker that decided has used some.
    cpu = {
        labels: v for (name, labels), v in after.items() if name == "ws_consumer_cpu_seconds_total"
    }
    assert {dict(labels)["thread"] for labels in cpu} >= {"mqtt-bulk", "paho-requests", "paho-bulk"}
    assert sum(v for labels, v in cpu.items() if "mqtt-access" in dict(labels)["thread"]) > 0

    # A message the server refuses is counted by its reason.
    with mqtt_peer(watched.station_peer_settings(station_id)) as peer:
        peer.publish(topics.station_topic(station_id, Family.EVENTS), b"{}")  # unsigned
        wait_for(lambda: watched.services.consumer.dropped, what="the drop")
    [(reason, count)] = watched.services.consumer.dropped.items()
    assert _scrape(watched)[("ws_messages_dropped_total", (("reason", reason),))] == count == 1


DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "warm-station.json"
# A series name in a query: a word before a '{', '[', ')' or the query's end, not a function
# (histogram_quantile(...), rate(...)) or a label name.
SERIES = re.compile(r"\b([a-z_][a-z0-9_]*)\b(?=\s*[{\[)]|\s*$|\s*/)")
PROMQL_WORDS = {"by", "le", "without", "on", "ignoring"}


def _series_names(text: str) -> set[str]:
    """Every series name an exposition offers, samples or not yet (a labelled counter with no
    child so far still declares itself)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in suffixes.get(family.type, ("",))
    }


def _queried_series(dashboard: dict[str, Any]) -> set[str]:
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    names = set()
    for expr in exprs:
        expr = re.sub(r"label_values\(([^,]+),[^)]*\)", r"\1", expr)  # the series, not the label
        without_labels = re.sub(r"\{[^}]*\}|\bby \([^)]*\)", "", expr)
        names |= {name for name in SERIES.findall(without_labels) if name not in PROMQL_WORDS}
    return names


def test_the_dashboard_queries_only_what_server_and_agent_export(
    watched: ServerHarness, make_station: MakeStation
) -> None:
    station_id = unique_station_id()
    watched.add_station(station_id)
    station = make_station(station_id, metrics_port=0)
    address = wait_for(lambda: station.agent.metrics_address, what="the agent's exporter")
    assert address[0] == "127.0.0.1"
    with urllib.request.urlopen(f"http://127.0.0.1:{address[1]}/metrics", timeout=5) as answer:
        agent_text = answer.read().decode()
    # One rider, so that the decision histogram and counters have samples.
    _, link = watched.enrol()
    shown = enter(station.sim, watched.qr_png(link), random.Random(6), lambda _: None)
    assert shown is not None
    server_text = watched.client.get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    ).text
    exported = _series_names(server_text) | _series_names(agent_text)

    queried = _queried_series(json.loads(DASHBOARD.read_text(encoding="utf-8")))

    assert {"ws_decisions_total", "ws_agent_frames_total", "ws_stations"} <= queried
    assert queried <= exported, queried - exported
