"""Load the server cannot take is shed and counted, never queued without bound: a full lane
drops what paho hands it (requests and bulk apart), and a request that waited in its lane
past its answer's lifetime is dropped unanswered (its station has decided offline)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from demo.broker import PrivateBroker
from mqttlink import Inbound
from protocol import topics
from protocol.topics import Family
from server.access.models import DecisionRecord
from server.core.db import init_db, make_engine
from server.core.settings import ServerSettings
from server.keys.ring import KeyHolder
from server.mqtt.consumer import MqttConsumer
from tests.support.waiting import wait_for


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make_consumer(
    broker: PrivateBroker, tmp_path: Path
) -> Iterator[tuple[MqttConsumer, Monotonic, ServerSettings]]:
    settings = ServerSettings(
        data_dir=tmp_path,
        demo_mode=True,
        access_queue_max=10,
        ingest_queue_max=100,
        decision_ttl_s=5,
        **broker.server_settings(""),  # type: ignore[arg-type]
    )
    engine = make_engine(settings.sqlalchemy_url)
    init_db(engine)
    keys = KeyHolder(engine)
    keys.reload()
    monotonic = Monotonic()
    consumer = MqttConsumer(settings, engine, keys, monotonic=monotonic)
    yield consumer, monotonic, settings
    consumer.stop()
    engine.dispose()


def _message(family: Family, n: int) -> Inbound:
    return Inbound(topics.station_topic(f"st-{n:04d}", family), b"{}", retain=False)


@pytest.mark.parametrize("broker", ["open"], indirect=True)
def test_full_lanes_shed_and_count(
    make_consumer: tuple[MqttConsumer, Monotonic, ServerSettings],
) -> None:
    consumer, _, _ = make_consumer
    # What paho hands over before the workers run: each lane takes up to its size.
    for n in range(12):
        consumer.on_message(_message(Family.ACCESS_REQUEST, n))
    # Heartbeats only up to half the bulk lane: the rest is kept for events.
    for n in range(60):
        consumer.on_message(_message(Family.HEARTBEAT, n))
    for n in range(53):
        consumer.on_message(_message(Family.EVENTS, n))
    stats = consumer.stats()
    assert consumer.dropped["shed_access"] == 2
    assert consumer.dropped["shed_heartbeat"] == 9
    assert consumer.dropped["shed_bulk"] == 4  # 51 heartbeats and 49 events fit
    assert stats["access_queued"] == 10
    assert stats["bulk_queued"] == 100


@pytest.mark.parametrize("broker", ["open"], indirect=True)
def test_a_request_that_waited_too_long_is_dropped_unanswered(
    make_consumer: tuple[MqttConsumer, Monotonic, ServerSettings],
) -> None:
    consumer, monotonic, settings = make_consumer
    consumer.on_message(_message(Family.ACCESS_REQUEST, 1))
    monotonic.now += settings.decision_ttl_s + 0.5
    consumer.start()
    wait_for(lambda: consumer.dropped["access_stale"] == 1, what="the stale request dropped")
    assert consumer.totals["decisions_sent"] == 0
    assert consumer.dropped["invalid"] == 0  # dropped before it was even read
    engine = make_engine(settings.sqlalchemy_url)
    with Session(engine) as session:
        assert session.exec(select(DecisionRecord)).all() == []
    engine.dispose()
