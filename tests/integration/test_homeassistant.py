"""Home Assistant discovery from a real server through a real (secure) Mosquitto: the monitor
account, as Home Assistant would log in, receives each station's retained discovery configs
and state, sees its door change, and cannot command the lock."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.broker import PrivateBroker
from protocol.payloads import ProvisioningBundle
from server.broker.accounts import DEFAULT_MONITOR_USERNAME
from server.core.db import session_scope
from server.core.settings import ServerSettings
from server.homeassistant.discovery import ignored_command_topic, state_topic
from server.stations.models import Station
from tests.conftest import ADMIN_PASSWORD, SERVER_BROKER_PASSWORD, logged_in_server
from tests.support.raw_client import RawClient
from tests.support.stack import ServerHarness
from tests.support.waiting import wait_for

MONITOR_PASSWORD = "monitor-" + uuid.uuid4().hex
NOT_AUTHORIZED = 0x87


@pytest.fixture
def server_with_discovery(
    broker: PrivateBroker, tmp_path: Path, bundles: dict[str, ProvisioningBundle]
) -> Iterator[ServerHarness]:
    assert broker.secure
    settings = ServerSettings(
        data_dir=tmp_path / "server",
        audience="ws-test",
        admin_password=ADMIN_PASSWORD,
        homeassistant_discovery=True,
        broker_monitor_password=MONITOR_PASSWORD,  # type: ignore[arg-type]
        **broker.server_settings(SERVER_BROKER_PASSWORD),  # type: ignore[arg-type]
    )
    with logged_in_server(settings, broker, bundles) as harness:
        yield harness


def test_the_monitor_account_sees_each_station_as_home_assistant_entities(
    server_with_discovery: ServerHarness, broker: PrivateBroker
) -> None:
    station_id = f"ha-{uuid.uuid4().hex[:8]}"
    server_with_discovery.add_station(station_id, capacity=6)
    monitor = RawClient(
        port=broker.internal_port,
        username=DEFAULT_MONITOR_USERNAME,
        password=MONITOR_PASSWORD,
        ca_file=str(broker.ca_file),
    )
    try:
        assert monitor.connect() == 0
        monitor.subscribe("homeassistant/#", "ws/v1/ha/#")
        expected = {
            f"homeassistant/lock/{station_id}/lock/config",
            f"homeassistant/binary_sensor/{station_id}/door/config",
            f"homeassistant/sensor/{station_id}/occupancy/config",
            state_topic(station_id),
        }
        wait_for(lambda: expected <= monitor.topics_received(), what="discovery and state")

        def states() -> list[dict[str, object]]:
            return [json.loads(m.payload) for m in monitor.received if m.topic in expected - {
                t for t in expected if t.endswith("/config")}]  # fmt: skip

        assert states()[-1] == {"lock": "LOCKED", "door": "OFF", "occupancy": 0,
                                "door_phase": "locked"}  # fmt: skip
        engine = server_with_discovery.services.engine
        with session_scope(engine) as session:
            station = session.get(Station, station_id)
            assert station is not None
            station.door_phase, station.occupancy = "forced_open", 1
            session.add(station)
            session.commit()
        wait_for(lambda: states()[-1]["door"] == "ON", what="the forced door in Home Assistant")
        assert states()[-1]["occupancy"] == 1
        # Read-only: Home Assistant's lock command is refused by the broker.
        refused = monitor.publish(ignored_command_topic(station_id), b"UNLOCK")
        assert refused.value == NOT_AUTHORIZED
        for message in monitor.received:
            assert b"WS1:" not in message.payload  # never a rider token
            assert MONITOR_PASSWORD.encode() not in message.payload
    finally:
        monitor.close()
