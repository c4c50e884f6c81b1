"""The seven attacks of issue 10, replayed against a real Mosquitto.

First by a client that can read and write every topic (an open broker): strictly more than
an attacker on the station network gets. Even with that much, nothing but the server opens a
door and nothing but a station speaks for it, because the messages that matter are signed end
to end (protocol/signing.py). Then against the broker as deployed (TLS, accounts, ACLs): an
anonymous client gets nowhere, and a stolen station password reads no tokens and reaches no
other station (the full matrix: tests/integration/test_broker_acl.py)."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from demo.broker import PrivateBroker
from firmware_sim.rider import enter
from mqttlink import Inbound, Link, LinkSettings
from protocol import topics
from protocol.payloads import (
    AccessDecision,
    AccessRequest,
    CommandKind,
    EventKind,
    Passage,
    StationCommand,
    StationEvent,
    StationMode,
    StationState,
    dump,
    parse,
)
from protocol.reasons import Reason
from protocol.signing import SigningKey, sign
from protocol.topics import Family
from server.alarms.models import Alarm
from tests.support.mqtt_peer import mqtt_peer
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import stays, wait_for

MakeStation = Callable[..., StationHarness]
# A broker that lets anyone do anything: the first layer (accounts, ACLs) gone entirely.
OPEN = pytest.mark.parametrize("broker", ["open"], indirect=True)
FORGER = SigningKey.generate()  # a key nobody pinned or registered


def _no_pause(_: float) -> None:
    return None


def _station(
    server: ServerHarness, make_station: MakeStation, **settings: object
) -> StationHarness:
    station_id = unique_station_id()
    server.add_station(station_id)
    return make_station(station_id, **settings)


Properties = tuple[tuple[str, str], ...]


def _as_server(
    server: ServerHarness, family: Family, station_id: str, payload: bytes
) -> list[Properties]:
    """Speaking as the server: unsigned, signed by a stranger, and the server's genuine
    signature of the same bytes for another station (lifted from elsewhere)."""
    return [
        (),
        sign([FORGER], family, station_id, payload),
        server.control_signed("st-elsewhere", family, payload),
    ]


def _stolen_key(server: ServerHarness) -> SigningKey:
    """The signing key of another, genuinely provisioned station box (stolen)."""
    return SigningKey.from_text(server.add_station(unique_station_id()).station_key)


def _as_station(
    stolen: SigningKey, family: Family, station_id: str, payload: bytes
) -> list[Properties]:
    """Speaking as a station: unsigned, signed by a stranger, and signed with the key of
    another (stolen) station box."""
    return [
        (),
        sign([FORGER], family, station_id, payload),
        sign([stolen], family, station_id, payload),
    ]


@OPEN
def test_1_forged_commands_are_not_obeyed(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    station = _station(server, make_station)
    now = datetime.now(UTC)
    with mqtt_peer(broker.port) as forger:
        for kind, mode in (
            (CommandKind.REMOTE_UNLOCK, None),
            (CommandKind.SET_MODE, StationMode.FREE_ENTRY),
            (CommandKind.LOCKDOWN, None),
        ):
            command = StationCommand(
                command_id=uuid.uuid4().hex,
                station_id=station.station_id,
                kind=kind,
                issued_at=now,
                expires_at=now + timedelta(seconds=30),
                issued_by="admin",  # whoever the forger claims to be
                reason="forged",
                mode=mode,
            )
            payload = dump(command)
            topic = topics.station_topic(station.station_id, Family.COMMANDS)
            for properties in _as_server(server, Family.COMMANDS, station.station_id, payload):
                forger.publish(topic, payload, user_properties=properties)
    wait_for(lambda: station.transport.dropped_messages >= 9, what="nine forgeries dropped")
    assert station.sim.lock.unlock_count == 0
    assert (station.agent.mode, station.agent.lockdown) == (StationMode.NORMAL, False)
    actions = [e["action"] for e in server.client.get("/api/audit").json()]
    assert "command_done" not in actions


@OPEN
def test_2_a_raced_forged_admit_does_not_open_the_door(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    """The forger reads the request and answers first, with the right request id and
    correlation data; the server's own answer (the code was used at another station) wins."""
    first, second = _station(server, make_station), _station(server, make_station)
    _, link = server.enrol()
    screen = server.qr_png(link)
    shown = enter(first.sim, screen, random.Random(1), _no_pause)
    assert shown is not None
    assert shown.allowed  # the code is now used up everywhere

    def race(message: Inbound) -> None:
        request = parse(AccessRequest, message.payload)
        now = datetime.now(UTC)
        admit = AccessDecision(
            request_id=request.request_id,
            station_id=request.station_id,
            allowed=True,
            reason=Reason.GRANTED,
            rider_id="r-forged",
            decided_at=now,
            expires_at=now + timedelta(seconds=5),
        )
        payload = dump(admit)
        for properties in _as_server(server, Family.ACCESS_DECISION, second.station_id, payload):
            racer.publish(
                topics.station_topic(second.station_id, Family.ACCESS_DECISION),
                payload,
                correlation_data=message.correlation_data,
                user_properties=properties,
            )
        raced.set()

    raced = threading.Event()
    racer = Link(
        client_id=f"racer-{uuid.uuid4().hex[:6]}",
        settings=LinkSettings(port=broker.port),
        on_message=race,
        subscriptions=[(topics.station_topic(second.station_id, Family.ACCESS_REQUEST), 1)],
    )
    racer.start()
    try:
        assert racer.wait_connected(5)
        shown = enter(second.sim, screen, random.Random(2), _no_pause)
        # On a busy machine the forgeries can land after the server's answer: then not first,
        # but still read and refused before the forger goes (stopping it could drop them).
        assert raced.wait(5), "the forger never saw the request"
        wait_for(
            lambda: (
                second.transport.dropped["unsigned"] >= 1
                and second.transport.dropped["unknown_key"] >= 1
            ),
            what="the forgeries refused",
        )
    finally:
        racer.stop()
    assert shown is not None
    assert (shown.allowed, shown.reason) == (False, Reason.REPLAYED)
    assert second.sim.lock.unlock_count == 0


@OPEN
def test_3_an_overwritten_retained_config_changes_nothing(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    station = _station(server, make_station)
    genuine = station.agent.state.view
    assert genuine is not None
    rider_id, link = server.enrol()
    screen = server.qr_png(link)  # a code the rider holds before being revoked
    hostile = {
        "v": 1,
        "station_id": station.station_id,
        "config_version": 2**40,
        "issued_at": datetime.now(UTC).isoformat(),
        "audience": "ws-test",
        "keys": {FORGER.kid: FORGER.public_key_text},
        "denylist": {},
        "control_keys": {FORGER.kid: FORGER.public_key_text},
    }
    payload = json.dumps(hostile).encode()
    topic = topics.station_topic(station.station_id, Family.CONFIG)
    with mqtt_peer(broker.port) as forger:
        for properties in _as_server(server, Family.CONFIG, station.station_id, payload):
            forger.publish(topic, payload, retain=True, user_properties=properties)
    wait_for(lambda: station.transport.dropped_messages >= 3, what="the forgeries dropped")
    # A genuine config re-sent meanwhile (at the station's birth) may renew issued_at only;
    # the denylist's signed pages may still be arriving (each only ever newer).
    now_view = station.agent.state.view
    assert replace(now_view, issued_at=0, denylist=genuine.denylist) == replace(
        genuine, issued_at=0
    )
    for bucket, page in genuine.denylist.pages.items():
        assert now_view.denylist.pages[bucket].stamp.version >= page.stamp.version
    assert FORGER.kid not in station.agent.pinned.text

    # Genuine configs after it still apply: a revocation reaches the station.
    server.client.post(f"/api/riders/{rider_id}/revoke").raise_for_status()
    wait_for(
        lambda: rider_id in getattr(station.agent.state.view, "denylist", {}),
        what="the genuine config after the forged one",
    )
    shown = enter(station.sim, screen, random.Random(3), _no_pause)
    assert shown is not None
    assert (shown.allowed, shown.reason) == (False, Reason.REVOKED)
    assert station.sim.lock.unlock_count == 0


def _entries(station_id: str, epoch: str, seqs: range, kind: EventKind) -> list[StationEvent]:
    now = datetime.now(UTC)
    return [
        StationEvent(
            event_id=uuid.uuid4().hex,
            station_id=station_id,
            epoch=epoch,
            seq=seq,
            kind=kind,
            occurred_at=now,
            passage=Passage.ENTRY if kind is EventKind.DOOR_OPENED else None,
            alarm="forced_open" if kind is EventKind.ALARM_RAISED else None,
        )
        for seq in seqs
    ]


def _forge_events(
    server: ServerHarness, broker: PrivateBroker, station_id: str, forged: list[StationEvent]
) -> None:
    """Publish each event in every forged way; return once the server dropped them all."""
    consumer = server.services.consumer
    stolen = _stolen_key(server)
    forgeries = [
        (dump(event), properties)
        for event in forged
        for properties in _as_station(stolen, Family.EVENTS, station_id, dump(event))
    ]
    topic = topics.station_topic(station_id, Family.EVENTS)
    before = sum(consumer.dropped.values())
    with mqtt_peer(broker.port) as forger:
        for payload, properties in forgeries:
            forger.publish(topic, payload, user_properties=properties)
    wait_for(
        lambda: sum(consumer.dropped.values()) >= before + len(forgeries),
        what="every forged event dropped",
    )


def _alarms(server: ServerHarness, station_id: str) -> list[Alarm]:
    with Session(server.services.engine) as session:
        return list(session.exec(select(Alarm).where(Alarm.station_id == station_id)))


@OPEN
def test_4_forged_events_of_a_new_epoch_are_not_stored(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    station = _station(server, make_station)
    epoch = uuid.uuid4().hex[:16]
    forged = _entries(station.station_id, epoch, range(1, 40), EventKind.DOOR_OPENED)
    forged += _entries(station.station_id, epoch, range(40, 41), EventKind.ALARM_RAISED)
    _forge_events(server, broker, station.station_id, forged)
    assert server.station(station.station_id).occupancy == 0
    assert [e for e in server.events(station.station_id) if e.epoch == epoch] == []
    assert _alarms(server, station.station_id) == []


@OPEN
def test_5_forged_events_in_the_stations_own_stream_do_not_hide_its_real_ones(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    """Forged with the station's epoch and next seqs (both in its heartbeat): the server
    must not take them, or it would acknowledge the real ones as duplicates."""
    station = _station(server, make_station)
    store = station.agent.store
    epoch, next_seq = store.epoch, store.last_seq + 1
    forged = _entries(
        station.station_id, epoch, range(next_seq, next_seq + 5), EventKind.DOOR_CLOSED
    )
    _forge_events(server, broker, station.station_id, forged)

    station.sim.lock.unlock()  # a crowbar: the real forced-door alarm takes those seqs
    station.sim.door.open()
    [alarm] = wait_for(lambda: _alarms(server, station.station_id), what="the real alarm stored")
    assert alarm.kind == "forced_open"
    stored = {e.event_id for e in server.events(station.station_id)}
    assert not stored & {e.event_id for e in forged}


@OPEN
def test_7_a_forged_offline_state_does_not_mark_the_station_offline(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    station = _station(server, make_station)
    wait_for(lambda: server.station(station.station_id).online, what="the station online")
    goodbye = StationState(
        station_id=station.station_id,
        online=False,
        session_id=station.agent.session_id,  # copied from the retained birth
        agent_version="1",
        at=datetime.now(UTC),
    )
    payload = dump(goodbye)
    consumer = server.services.consumer
    topic = topics.station_topic(station.station_id, Family.STATE)
    forgeries = _as_station(_stolen_key(server), Family.STATE, station.station_id, payload)
    before = sum(consumer.dropped.values())
    with mqtt_peer(broker.port) as forger:
        for properties in forgeries:
            forger.publish(topic, payload, retain=True, user_properties=properties)
    wait_for(lambda: sum(consumer.dropped.values()) >= before + 3, what="forgeries dropped")
    assert stays(lambda: not server.station(station.station_id).online, for_s=0.3)
    assert server.station(station.station_id).online


# -- the broker as deployed -------------------------------------------------------------------
def _connects(settings: LinkSettings) -> bool:
    """Whether the first attempt connects: until the broker admits the client or the
    connection ends (refused, or cut), for 1.5 s at most (paho retries later than that)."""
    ended = threading.Event()
    link = Link(
        f"probe-{uuid.uuid4().hex[:6]}",
        settings,
        on_message=lambda _: None,
        on_disconnected=ended.set,
    )
    link.start()
    try:
        deadline = time.monotonic() + 1.5
        while not (link.connected.is_set() or ended.is_set()) and time.monotonic() < deadline:
            time.sleep(0.01)
        return link.connected.is_set()
    finally:
        link.stop()


def test_anonymous_and_unprovisioned_clients_are_refused(
    server: ServerHarness, broker: PrivateBroker
) -> None:
    assert broker.secure
    station_id = unique_station_id()
    bundle = server.add_station(station_id)
    ca = str(broker.ca_file)
    assert _connects(broker.client_settings(station_id, bundle.broker_password))
    refused = {
        "anonymous": LinkSettings(port=broker.port, ca_file=ca),
        "a guessed password": broker.client_settings(station_id, "a-guessed-password-123456"),
        "an unknown station": broker.client_settings("st-nobody", bundle.broker_password),
        "plain MQTT on the TLS port": LinkSettings(port=broker.port),
    }
    # Side by side: a refused client's network thread takes a second to stop.
    with ThreadPoolExecutor(len(refused)) as pool:
        connected = dict(zip(refused, pool.map(_connects, refused.values()), strict=True))
    assert connected == dict.fromkeys(refused, False)


def test_6_a_stolen_station_password_reads_no_tokens(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    """Subscribing to everything with a station's account: its own replies at most, never
    another station's requests (they carry riders' codes)."""
    victim = _station(server, make_station)
    thief_id = unique_station_id()
    server.add_station(thief_id)
    _, link = server.enrol()
    with mqtt_peer(
        server.station_peer_settings(thief_id),
        ["#", "ws/v1/stations/+/access/request", f"ws/v1/stations/{victim.station_id}/#"],
    ) as thief:
        shown = enter(victim.sim, server.qr_png(link), random.Random(7), _no_pause)
        assert shown is not None
        assert shown.allowed  # real traffic went by
        seen = thief.drain(0.5)
    own = f"ws/v1/stations/{thief_id}/"
    # Besides its own replies, only the trust pages every station reads (public keys, denylist).
    readable = (own, "ws/v1/trust/")
    assert all(message.topic.startswith(readable) for message in seen), [m.topic for m in seen]
    assert not [m for m in seen if m.topic.endswith("/access/request")]


def test_a_stolen_station_password_reaches_no_other_station(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    victim = _station(server, make_station)
    thief_id = unique_station_id()
    server.add_station(thief_id)
    now = datetime.now(UTC)
    unlock = StationCommand(
        command_id=uuid.uuid4().hex,
        station_id=victim.station_id,
        kind=CommandKind.REMOTE_UNLOCK,
        issued_at=now,
        expires_at=now + timedelta(seconds=30),
        issued_by="admin",
        reason="forged",
    )
    payload = dump(unlock)
    signed = server.control_signed(victim.station_id, Family.COMMANDS, payload)
    with mqtt_peer(server.station_peer_settings(thief_id)) as thief:
        # Even a genuine server signature lifted from elsewhere: the broker drops it first.
        for properties in ((), signed):
            thief.link.publish(
                topics.station_topic(victim.station_id, Family.COMMANDS),
                payload,
                user_properties=properties,
            )
    assert stays(lambda: victim.sim.lock.unlock_count, for_s=0.5)
    assert victim.transport.dropped_messages == 0  # never even reached the station


def test_reprovisioning_a_stolen_box_shuts_its_old_password_out(
    server: ServerHarness, broker: PrivateBroker
) -> None:
    station_id = unique_station_id()
    stolen = server.add_station(station_id)
    assert _connects(broker.client_settings(station_id, stolen.broker_password))
    fresh = server.provision(f"/api/stations/{station_id}/provision", {"reason": "box stolen"})
    assert fresh.station_key != stolen.station_key
    assert not _connects(broker.client_settings(station_id, stolen.broker_password))
    assert _connects(broker.client_settings(station_id, fresh.broker_password))


def test_reprovisioning_refuses_bad_requests_and_changes_nothing(
    server: ServerHarness, broker: PrivateBroker
) -> None:
    station_id = unique_station_id()
    bundle = server.add_station(station_id)
    key_before = server.station(station_id).public_key
    for path, body, status in [
        (f"/api/stations/{station_id}/provision", {}, 422),  # no reason
        (f"/api/stations/{station_id}/provision", {"reason": ""}, 422),
        ("/api/stations/st-nowhere/provision", {"reason": "x"}, 404),
    ]:
        reply = server.client.post(path, json=body)
        assert reply.status_code == status, reply.text
    anonymous = server.client.post(
        f"/api/stations/{station_id}/provision",
        json={"reason": "x"},
        headers={"Authorization": "Bearer not-a-session"},
    )
    assert anonymous.status_code == 401
    assert (
        server.client.post("/api/stations", json={"id": station_id, "name": "x"}).status_code == 422
    )
    assert server.station(station_id).public_key == key_before
    assert _connects(broker.client_settings(station_id, bundle.broker_password))
