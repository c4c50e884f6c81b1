"""The agent acts only on a decision it asked for, addressed to it, fresh and not retained;
bad decisions and configs change nothing."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from demo.broker import PrivateBroker
from firmware_sim.rider import enter
from protocol import topics
from protocol.credential import (
    Claims,
    new_nonce,
    public_key_to_text,
    raw_public_key,
    sign_token,
)
from protocol.payloads import AccessDecision, dump
from protocol.reasons import Reason
from protocol.topics import Family
from tests.support.mqtt_peer import mqtt_peer
from tests.support.qr import qr_png
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import stays, wait_for

MakeStation = Callable[..., StationHarness]


def _decision(station_id: str, request_id: str, *, expires_in_s: float = 5.0) -> AccessDecision:
    now = datetime.now(UTC)
    return AccessDecision(
        request_id=request_id,
        station_id=station_id,
        allowed=True,
        reason=Reason.GRANTED,
        rider_id="r-forged",
        decided_at=now,
        expires_at=now + timedelta(seconds=expires_in_s),
    )


def test_unrequested_decisions_open_nothing(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    decision_topic = topics.station_topic(station_id, Family.ACCESS_DECISION)
    with mqtt_peer(broker.port) as peer:
        # Unknown request id; for another station; retained; garbage.
        peer.publish(decision_topic, dump(_decision(station_id, uuid.uuid4().hex)))
        peer.publish(decision_topic, dump(_decision("someone-else", uuid.uuid4().hex)))
        peer.publish(decision_topic, dump(_decision(station_id, uuid.uuid4().hex)), retain=True)
        peer.publish(decision_topic, b"{not json")
        peer.publish(decision_topic, b"", retain=True)  # clear the retained one again
    assert stays(lambda: station.sim.lock.unlock_count, for_s=0.5)
    wait_for(lambda: station.transport.dropped_messages >= 2, what="drops counted")
    assert station.sim.display.count == 0


def test_bad_config_is_ignored(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    """A config with a broken key, for another station, or older than the one applied is
    ignored; the station keeps admitting riders with the config it has."""
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    config_topic = topics.station_topic(station_id, Family.CONFIG)
    base = {
        "v": 1,
        "station_id": station_id,
        "config_version": 99,
        "issued_at": datetime.now(UTC).isoformat(),
        "audience": "ws-test",
    }
    with mqtt_peer(broker.port) as peer:
        for payload in (
            {**base, "keys": {"k": "not base64!"}},
            {**base, "keys": {"k": "AAAA"}},
            {**base, "keys": {}},
            {**base, "station_id": "someone-else", "keys": {"k": "AAAA"}},
        ):
            peer.publish(config_topic, json.dumps(payload).encode())
    wait_for(lambda: station.transport.dropped_messages >= 1, what="the invalid config dropped")
    _, link = server.enrol()
    shown = enter(station.sim, server.qr_png(link), random.Random(5), lambda _: None)
    assert shown is not None
    assert (shown.allowed, shown.reason) == (True, Reason.GRANTED)


def test_no_answer_and_offline_entry_off_means_no_entry(
    broker: PrivateBroker, make_station: MakeStation
) -> None:
    """A station set to refuse offline entry refuses when no server answers, and says why."""
    station_id = unique_station_id()
    station = make_station(
        station_id, wait_config=False, offline_entry="deny", decision_timeout_s=0.3
    )
    # A valid config from a server that then goes silent.
    key = Ed25519PrivateKey.generate()
    config = {
        "v": 1,
        "station_id": station_id,
        "config_version": 1,
        "issued_at": datetime.now(UTC).isoformat(),
        "audience": "ws-test",
        "keys": {"k1": public_key_to_text(raw_public_key(key))},
    }
    with mqtt_peer(broker.port) as peer:
        peer.publish(
            topics.station_topic(station_id, Family.CONFIG),
            json.dumps(config).encode(),
            retain=True,  # as the server does: it reaches the station whenever it subscribes
        )
    wait_for(lambda: station.agent.configured, what="config applied")
    now = int(datetime.now(UTC).timestamp())
    token = sign_token(Claims("k1", "r-alone", "ws-test", now, 60, new_nonce(), 1), key)

    shown = enter(station.sim, qr_png(token), random.Random(6), lambda _: None)

    assert shown is not None
    assert (shown.allowed, shown.reason) == (False, Reason.SERVER_UNAVAILABLE)
    assert station.sim.lock.unlock_count == 0
