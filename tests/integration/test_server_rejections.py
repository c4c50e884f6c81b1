"""Bad input on every topic the server consumes: dropped and counted, nothing stored, and the
server goes on answering the next valid request."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from demo.broker import PrivateBroker
from protocol import topics
from protocol.credential import Claims, new_nonce, sign_token
from protocol.payloads import AccessDecision, AccessRequest, Heartbeat, dump, parse
from protocol.reasons import Reason
from protocol.signing import SigningKey, sign
from protocol.topics import Family
from tests.support.mqtt_peer import Peer, mqtt_peer
from tests.support.stack import ServerHarness, unique_station_id
from tests.support.waiting import wait_for

# Speaks as the server and as stations straight through the broker: an open one (the
# secure broker's accounts are tested in test_broker_acl.py and test_attacks.py).
pytestmark = pytest.mark.parametrize("broker", ["open"], indirect=True)


def _request(station_id: str, token: str) -> AccessRequest:
    return AccessRequest(
        request_id=uuid.uuid4().hex,
        station_id=station_id,
        token=token,
        station_time=datetime.now(UTC),
    )


def _as_station(
    server: ServerHarness, peer: Peer, station_id: str, family: Family, payload: bytes, **kw: Any
) -> None:
    """Publish as the provisioned station would: signed with its own key."""
    key = SigningKey.from_text(server.bundles[station_id].station_key)
    signature = sign([key], family, station_id, payload)
    peer.publish(topics.station_topic(station_id, family), payload, user_properties=signature, **kw)


def _ask(peer: Peer, server: ServerHarness, station_id: str, token: str) -> AccessDecision:
    request = _request(station_id, token)
    _as_station(
        server,
        peer,
        station_id,
        Family.ACCESS_REQUEST,
        dump(request),
        response_topic=topics.station_topic(station_id, Family.ACCESS_DECISION),
        correlation_data=request.request_id.encode(),
    )
    reply = peer.next()
    assert reply.correlation_data == request.request_id.encode()
    decision = parse(AccessDecision, reply.payload)
    assert decision.request_id == request.request_id
    return decision


def test_server_decides_valid_request(server: ServerHarness, broker: PrivateBroker) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    rider_id, link = server.enrol()
    decision_topic = topics.station_topic(station_id, Family.ACCESS_DECISION)
    with mqtt_peer(broker.port, [decision_topic]) as peer:
        decision = _ask(peer, server, station_id, server.token(link))
    assert (decision.allowed, decision.reason, decision.rider_id) == (
        True,
        Reason.GRANTED,
        rider_id,
    )


@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_repeated_request_id_gets_the_first_answer(
    server: ServerHarness, broker: PrivateBroker
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    _, link = server.enrol()
    request = _request(station_id, server.token(link))
    decision_topic = topics.station_topic(station_id, Family.ACCESS_DECISION)
    with mqtt_peer(broker.port, [decision_topic]) as peer:
        for _ in range(3):
            _as_station(server, peer, station_id, Family.ACCESS_REQUEST, dump(request))
        answers = [parse(AccessDecision, peer.next().payload) for _ in range(3)]
    assert {(a.request_id, a.allowed) for a in answers} == {(request.request_id, True)}
    assert len(server.decisions(station_id)) == 1


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        ("unknown_rider", Reason.UNKNOWN_RIDER),
        ("foreign_signer", Reason.BAD_SIGNATURE),
        ("unknown_kid", Reason.UNKNOWN_KEY),
        ("wrong_audience", Reason.WRONG_AUDIENCE),
        ("expired", Reason.EXPIRED),
        ("garbage", Reason.NOT_OUR_CODE),
    ],
)
def test_server_refuses_forged_requests(
    server: ServerHarness, broker: PrivateBroker, forge: str, reason: Reason
) -> None:
    """A request sent straight to the broker, past any station check, still opens nothing."""
    station_id = unique_station_id()
    server.add_station(station_id)
    rider_id, _ = server.enrol()
    now = int(server.services.clock())
    key = server.services.keys.ring.signer(datetime.now(UTC))
    claims = Claims(key.kid, rider_id, "ws-test", now, 60, new_nonce(), 1)
    signer = key.private_key
    if forge == "unknown_rider":
        claims = replace(claims, rider_id="r-nobody")
    elif forge == "foreign_signer":
        signer = Ed25519PrivateKey.generate()
    elif forge == "unknown_kid":
        claims = replace(claims, kid="gone0001")
    elif forge == "wrong_audience":
        claims = replace(claims, audience="elsewhere")
    elif forge == "expired":
        claims = replace(claims, issued_at=now - 600)
    token = "hello" if forge == "garbage" else sign_token(claims, signer)
    decision_topic = topics.station_topic(station_id, Family.ACCESS_DECISION)
    with mqtt_peer(broker.port, [decision_topic]) as peer:
        decision = _ask(peer, server, station_id, token)
    assert (decision.allowed, decision.reason) == (False, reason)
    [stored] = server.decisions(station_id)
    assert (stored.allowed, stored.reason) == (False, reason.value)


BAD_PAYLOADS = [
    b"",
    b"not json",
    b"[]",
    b'{"v": 2}',
    json.dumps({"v": 1, "station_id": "x"}).encode(),
    b"{" * 100_000,
    "\udcff".encode("utf-8", "surrogatepass"),
]


@pytest.mark.parametrize("family", [Family.ACCESS_REQUEST, Family.EVENTS, Family.STATE])
def test_bad_payloads_are_dropped(
    server: ServerHarness, broker: PrivateBroker, family: Family
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    _, link = server.enrol()
    consumer = server.services.consumer
    dropped_before = sum(consumer.dropped.values())
    decision_topic = topics.station_topic(station_id, Family.ACCESS_DECISION)
    with mqtt_peer(broker.port, [decision_topic]) as peer:
        for payload in BAD_PAYLOADS:  # signed by the station: only their content is wrong
            _as_station(server, peer, station_id, family, payload)
        wait_for(
            lambda: sum(consumer.dropped.values()) >= dropped_before + len(BAD_PAYLOADS) - 1,
            what="the bad payloads to be dropped",
        )
        # Still serving: the next valid request is answered.
        assert _ask(peer, server, station_id, server.token(link)).allowed
    assert server.events(station_id) == []
    assert len(server.decisions(station_id)) == 1
    assert server.station(station_id).occupancy == 0


def test_payload_naming_another_station_is_dropped(
    server: ServerHarness, broker: PrivateBroker
) -> None:
    """A station may speak only for itself: the station id in the payload must match the topic."""
    victim, intruder = unique_station_id(), unique_station_id()
    server.add_station(victim)
    server.add_station(intruder)
    _, link = server.enrol()
    consumer = server.services.consumer
    with mqtt_peer(broker.port, [topics.all_stations(Family.ACCESS_DECISION)]) as peer:
        _as_station(
            server,
            peer,
            intruder,
            Family.ACCESS_REQUEST,
            dump(_request(victim, server.token(link))),
        )
        wait_for(lambda: consumer.dropped["mismatch"] >= 1, what="the mismatch to be dropped")
        assert peer.none_within(0.3)
    assert server.decisions(victim) == []
    assert server.decisions(intruder) == []


def test_answer_goes_only_to_the_station_topic(
    server: ServerHarness, broker: PrivateBroker
) -> None:
    """A response topic naming somewhere else is not followed."""
    station_id = unique_station_id()
    server.add_station(station_id)
    _, link = server.enrol()
    request = _request(station_id, server.token(link))
    elsewhere = "attacker/inbox"
    with mqtt_peer(
        broker.port, [elsewhere, topics.station_topic(station_id, Family.ACCESS_DECISION)]
    ) as peer:
        _as_station(
            server, peer, station_id, Family.ACCESS_REQUEST, dump(request), response_topic=elsewhere
        )
        reply = peer.next()
        assert reply.topic == topics.station_topic(station_id, Family.ACCESS_DECISION)
        assert peer.none_within(0.3)


def test_unknown_station_is_not_answered(server: ServerHarness, broker: PrivateBroker) -> None:
    """A station that was never provisioned has no key: whatever it sends is dropped unread."""
    station_id = unique_station_id()
    _, link = server.enrol()
    consumer = server.services.consumer
    request = _request(station_id, server.token(link))
    with mqtt_peer(broker.port, [topics.station_topic(station_id, Family.ACCESS_DECISION)]) as peer:
        unprovisioned = SigningKey.generate()
        peer.publish(
            topics.station_topic(station_id, Family.ACCESS_REQUEST),
            dump(request),
            user_properties=sign([unprovisioned], Family.ACCESS_REQUEST, station_id, dump(request)),
        )
        wait_for(lambda: consumer.dropped["unknown_station"] >= 1, what="the request dropped")
        assert peer.none_within(0.3)
    assert server.decisions(station_id) == []


@pytest.mark.parametrize("signing", ["unsigned", "other_key", "other_station", "altered"])
def test_requests_the_station_did_not_sign_are_not_answered(
    server: ServerHarness, broker: PrivateBroker, signing: str
) -> None:
    """A broker password alone cannot ask for a decision in a station's name."""
    station_id, neighbour = unique_station_id(), unique_station_id()
    server.add_station(station_id)
    server.add_station(neighbour)
    _, link = server.enrol()
    consumer = server.services.consumer
    payload = dump(_request(station_id, server.token(link)))
    own = SigningKey.from_text(server.bundles[station_id].station_key)
    theirs = SigningKey.from_text(server.bundles[neighbour].station_key)
    properties = {
        "unsigned": (),
        "other_key": sign([theirs], Family.ACCESS_REQUEST, station_id, payload),
        "other_station": sign([own], Family.ACCESS_REQUEST, neighbour, payload),
        "altered": sign([own], Family.ACCESS_REQUEST, station_id, payload + b" "),
    }[signing]
    before = sum(consumer.dropped.values())
    with mqtt_peer(broker.port, [topics.station_topic(station_id, Family.ACCESS_DECISION)]) as peer:
        peer.publish(
            topics.station_topic(station_id, Family.ACCESS_REQUEST),
            payload,
            user_properties=properties,
        )
        wait_for(lambda: sum(consumer.dropped.values()) > before, what="the request dropped")
        assert peer.none_within(0.3)
    assert server.decisions(station_id) == []


def test_a_heartbeat_played_back_later_is_dropped(
    server: ServerHarness, broker: PrivateBroker
) -> None:
    """Signed by the station, but recorded an hour ago: it says nothing about the station now."""
    station_id = unique_station_id()
    server.add_station(station_id)
    consumer = server.services.consumer
    old = Heartbeat(
        station_id=station_id,
        session_id="s-1",
        sent_at=datetime.now(UTC) - timedelta(hours=1),
        interval_s=30,
        camera_ok=True,
        outbox_depth=0,
        config_version=1,
    )
    with mqtt_peer(broker.port) as peer:
        _as_station(server, peer, station_id, Family.HEARTBEAT, dump(old))
        wait_for(lambda: consumer.dropped["stale"] >= 1, what="the stale heartbeat dropped")
    assert server.station(station_id).last_heartbeat_at is None


def test_one_station_flooding_does_not_hold_up_the_others(
    server: ServerHarness, broker: PrivateBroker
) -> None:
    """A broken or stolen box sending thousands of requests gets its burst answered; the rest
    are dropped before the database, and another station's rider is still answered."""
    flooder, neighbour = unique_station_id(), unique_station_id()
    server.add_station(flooder)
    server.add_station(neighbour)
    _, link = server.enrol()
    consumer = server.services.consumer
    settings = server.services.settings
    flood = 1500
    with mqtt_peer(broker.port, [topics.station_topic(neighbour, Family.ACCESS_DECISION)]) as peer:
        for _ in range(flood):
            request = _request(flooder, "WS1:flood")
            _as_station(server, peer, flooder, Family.ACCESS_REQUEST, dump(request), qos=0)
        decision = _ask(peer, server, neighbour, server.token(link))
    assert decision.allowed
    answered = len(server.decisions(flooder))
    # The burst, plus what the steady rate allowed while the flood was being read.
    assert answered < settings.access_request_burst + 10 * settings.access_requests_per_s
    wait_for(
        lambda: consumer.dropped["rate_limited"] + len(server.decisions(flooder)) >= flood,
        what="the rest of the flood dropped",
    )
