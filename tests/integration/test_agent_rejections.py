"""The agent acts only on a decision it asked for, addressed to it, fresh and not retained;
bad decisions and configs change nothing."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from demo.broker import PrivateBroker
from firmware_sim.rider import enter
from protocol import topics
from protocol.payloads import AccessDecision, ProvisioningBundle, dump
from protocol.reasons import Reason
from protocol.signing import sign_trust
from protocol.topics import Family, TrustTopic
from tests.support.mqtt_peer import mqtt_peer
from tests.support.qr import qr_png
from tests.support.silent_server import SilentServer
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import stays, wait_for

MakeStation = Callable[..., StationHarness]

# Speaks as the server and as stations straight through the broker: an open one (the
# secure broker's accounts are tested in test_broker_acl.py and test_attacks.py).
pytestmark = pytest.mark.parametrize("broker", ["open"], indirect=True)


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

    def signed(payload: bytes) -> tuple[tuple[str, str], ...]:
        return server.control_signed(station_id, Family.ACCESS_DECISION, payload)

    with mqtt_peer(broker.port) as peer:
        # Signed as the server would, so only their content is wrong: unknown request id; for
        # another station; retained; garbage. Then a good-looking one nobody signed.
        for payload, retain in (
            (dump(_decision(station_id, uuid.uuid4().hex)), False),
            (dump(_decision("someone-else", uuid.uuid4().hex)), False),
            (dump(_decision(station_id, uuid.uuid4().hex)), True),
            (b"{not json", False),
        ):
            peer.publish(decision_topic, payload, retain=retain, user_properties=signed(payload))
        peer.publish(decision_topic, b"", retain=True)  # clear the retained one again
        peer.publish(decision_topic, dump(_decision(station_id, uuid.uuid4().hex)))
    assert stays(lambda: station.sim.lock.unlock_count, for_s=0.5)
    dropped = station.transport.dropped
    wait_for(lambda: dropped["unsigned"] >= 2 and dropped["invalid"] >= 1, what="drops counted")
    assert station.sim.display.count == 0


def test_bad_config_is_ignored(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    """A config or keys page that is invalid, for another station, or with a broken key is
    ignored (and named in the heartbeat); the station keeps admitting riders with what it has."""
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    config_topic = topics.station_topic(station_id, Family.CONFIG)
    now = datetime.now(UTC).isoformat()
    base = {"v": 1, "station_id": station_id, "config_version": 99, "issued_at": now}
    control = {k.kid: k.public_key_text for k in server.services.keys.control.signers}
    page = {"v": 1, "version": 99, "issued_at": now, "audience": "ws-test"}
    with mqtt_peer(broker.port) as peer:
        for payload in (
            {**base, "mode": "party", "lockdown": True},
            {**base, "station_id": "someone-else", "lockdown": True},
        ):
            raw = json.dumps(payload).encode()
            signature = server.control_signed(station_id, Family.CONFIG, raw)
            peer.publish(config_topic, raw, user_properties=signature)
        for keys in ({"k": "not base64!"}, {"k": "AAAA"}, {}):
            raw = json.dumps({**page, "keys": keys, "control_keys": control}).encode()
            signature = sign_trust(server.services.keys.control.signers, TrustTopic(None), raw)
            peer.publish(topics.TRUST_KEYS, raw, user_properties=signature)
    wait_for(lambda: station.transport.dropped_messages >= 2, what="the invalid ones dropped")
    wait_for(lambda: station.agent.state.config_errors.keys() == {"config", "keys"})
    assert not station.agent.lockdown
    _, link = server.enrol()
    shown = enter(station.sim, server.qr_png(link), random.Random(5), lambda _: None)
    assert shown is not None
    assert (shown.allowed, shown.reason) == (True, Reason.GRANTED)


def test_no_answer_and_offline_entry_off_means_no_entry(
    broker: PrivateBroker, make_station: MakeStation, bundles: dict[str, ProvisioningBundle]
) -> None:
    """A station set to refuse offline entry refuses when no server answers, and says why."""
    station_id = unique_station_id()
    silent = SilentServer(broker, bundles)  # configures the station, then never answers
    silent.provision(station_id)
    station = make_station(
        station_id, wait_config=False, offline_entry="deny", decision_timeout_s=0.3
    )
    silent.configure(station_id)
    wait_for(lambda: station.agent.configured, what="config applied")
    token = silent.token("r-alone")

    shown = enter(station.sim, qr_png(token), random.Random(6), lambda _: None)

    assert shown is not None
    assert (shown.allowed, shown.reason) == (False, Reason.SERVER_UNAVAILABLE)
    assert station.sim.lock.unlock_count == 0
