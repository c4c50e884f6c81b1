"""No token, link secret, password, session token or private key in the logs of the server,
the agent or the MQTT link, with every logger at DEBUG, through an entry end to end, a replay,
a malformed request carrying a token, and a wrong password; as text and as JSON lines."""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from demo.broker import PrivateBroker
from firmware_sim.rider import enter
from protocol import topics
from protocol.reasons import Reason
from protocol.signing import SigningKey, sign
from protocol.topics import Family
from server.keys.models import SigningKeyRecord
from telemetry.logs import SafeJsonFormatter
from tests.conftest import ADMIN_PASSWORD
from tests.support.mqtt_peer import mqtt_peer
from tests.support.qr import qr_png
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

# The test's own HTTP client (playing the rider's phone and the staff browser) logs the URLs
# it fetches, link secrets included: that is the test talking, not the system under test.
# (The server's access log is off in ``python -m server``: test_server_start checks it.)
THE_TESTS_OWN = ("httpx", "httpcore")
MakeStation = Callable[..., StationHarness]


def _no_pause(_: float) -> None:
    return None


def test_an_entry_logs_no_secret_even_at_debug(
    server: ServerHarness,
    make_station: MakeStation,
    broker: PrivateBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="uvicorn.error")
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    _, link = server.enrol()
    token = server.token(link)

    shown = enter(station.sim, qr_png(token), random.Random(3), _no_pause)
    assert shown is not None
    assert shown.allowed
    wait_for(lambda: len(server.events(station_id)) >= 3, what="the entry's events stored")
    again = enter(station.sim, qr_png(token), random.Random(4), _no_pause)
    assert again is not None
    assert again.reason is Reason.REPLAYED

    # A request the server must drop, token inside: signed by the station, so that it gets as
    # far as the validation error (the log line most likely to repeat what it was given).
    with mqtt_peer(server.station_peer_settings(station_id)) as peer:
        bad = {"v": 1, "request_id": uuid.uuid4().hex, "station_id": station_id}
        bad |= {"token": token, "station_time": "not a time"}
        topic = topics.station_topic(station_id, Family.ACCESS_REQUEST)
        payload = json.dumps(bad).encode()
        key = SigningKey.from_text(server.bundles[station_id].station_key)
        signature = sign([key], Family.ACCESS_REQUEST, station_id, payload)
        peer.publish(topic, payload, user_properties=signature)
        wait_for(lambda: server.services.consumer.dropped["invalid"] >= 1, what="the drop")
    wrong = server.client.post("/api/auth/login", json={"username": "admin", "password": "y" * 12})
    assert wrong.status_code == 401

    with Session(server.services.engine) as session:
        pems = [row.private_pem for row in session.exec(select(SigningKeyRecord))]
    key_lines = [line for pem in pems for line in pem.splitlines() if "PRIVATE KEY" not in line]
    secrets = {
        "rider token": token,
        "link secret": link.removeprefix("/r/"),
        "admin password": ADMIN_PASSWORD,
        "wrong password": "y" * 12,
        "session token": server.client.headers["Authorization"].removeprefix("Bearer "),
        **{f"private key line {i}": line for i, line in enumerate(key_lines)},
    }
    records = [r for r in caplog.records if not r.name.startswith(THE_TESTS_OWN)]
    names = {record.name.split(".")[0] for record in records}
    assert {"server", "station_agent"} <= names  # the capture saw both sides
    # As text, and as the JSON lines of WS_LOG_FORMAT=json (every field of every record).
    json_lines = SafeJsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    for formatter in (logging.Formatter("%(name)s %(levelname)s %(message)s"), json_lines):
        logged = "\n".join(formatter.format(record) for record in records)
        assert "dropped message" in logged
        for what, secret in secrets.items():
            assert secret not in logged, what
    assert all(json.loads(json_lines.format(record)) for record in records)
