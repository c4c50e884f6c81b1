"""``set_mode`` end to end, on the secure broker with a real agent driving the simulated
station: staff put a station into maintenance; the server stores it and refuses entries with
the maintenance reason, the signed config carries it, the station refuses at the door (also
when it cannot reach the server, after a restart), and no later config publish (a rules
change, a birth) undoes it. Then back to normal."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session, select

from demo.processes import free_port
from firmware_sim.rider import enter
from protocol import topics
from protocol.payloads import AccessDecision, AccessRequest, StationConfig, dump, parse
from protocol.reasons import Reason
from protocol.signing import SigningKey, sign
from protocol.topics import Family
from server.access.models import DecisionRecord
from tests.support.mqtt_peer import mqtt_peer
from tests.support.stack import SHOW_WAIT_S, ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]


def _no_pause(_: float) -> None:
    return None


def _show(station: StationHarness, screen: bytes) -> tuple[bool, Reason]:
    shown = enter(station.sim, screen, random.Random(0), _no_pause, wait_s=SHOW_WAIT_S)
    assert shown is not None, "the station showed nothing"
    return shown.allowed, shown.reason


def _command(server: ServerHarness, station_id: str, **body: object) -> None:
    reply = server.client.post(
        f"/api/stations/{station_id}/commands", json={"reason": "burst pipe", **body}
    )
    assert reply.status_code == 202, reply.text


def _retained_config(server: ServerHarness, station_id: str) -> StationConfig:
    """As the station reads it (its own account: only while its agent is stopped, since the
    broker binds the client id to the account)."""
    with mqtt_peer(
        server.station_peer_settings(station_id), [topics.station_topic(station_id, Family.CONFIG)]
    ) as peer:
        message = peer.next()
    assert message.retain
    return parse(StationConfig, message.payload)


def _server_decides(server: ServerHarness, station_id: str, token: str) -> AccessDecision:
    """Ask the server as the station would (its own account and signing key): only while the
    station's agent is stopped, since the broker binds the client id to the account."""
    request = AccessRequest(
        request_id=uuid.uuid4().hex,
        station_id=station_id,
        token=token,
        station_time=datetime.now(UTC),
    )
    payload = dump(request)
    key = SigningKey.from_text(server.bundles[station_id].station_key)
    decision_topic = topics.station_topic(station_id, Family.ACCESS_DECISION)
    with mqtt_peer(server.station_peer_settings(station_id), [decision_topic]) as peer:
        peer.publish(
            topics.station_topic(station_id, Family.ACCESS_REQUEST),
            payload,
            user_properties=sign([key], Family.ACCESS_REQUEST, station_id, payload),
            response_topic=decision_topic,
            correlation_data=request.request_id.encode(),
        )
        decision = parse(AccessDecision, peer.next(10).payload)
    assert decision.request_id == request.request_id
    return decision


def _kept_config(station: StationHarness) -> StationConfig:
    payload = station.agent.store.station_config()
    assert payload is not None
    return parse(StationConfig, payload)


def _server_decisions(server: ServerHarness, station_id: str) -> list[tuple[bool, str]]:
    with Session(server.services.engine) as session:
        found = session.exec(select(DecisionRecord).where(DecisionRecord.station_id == station_id))
        return [(d.allowed, d.reason) for d in found]


def test_maintenance_set_by_staff_lasts_everywhere(
    server: ServerHarness, make_station: MakeStation
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id, capacity=5)
    station = make_station(station_id)
    _, link = server.enrol()

    _command(server, station_id, kind="set_mode", mode="maintenance")
    wait_for(lambda: station.agent.mode == "maintenance", what="maintenance reaches the door")
    row = server.client.get(f"/api/stations/{station_id}").json()
    assert row["maintenance"] is True  # stored on the station, not only sent
    [entry] = server.client.get(
        "/api/audit", params={"station_id": station_id, "action": "command_set_mode"}
    ).json()
    assert (entry["actor"], entry["reason"]) == ("admin", "burst pipe")
    assert entry["before"] == {"maintenance": False, "emergency": None}
    assert entry["after"] == {"maintenance": True, "emergency": None}

    # The station refuses at the door. It may ask the server, only for the next step to
    # show (the nearest station with room): the server then refuses for maintenance too.
    asked_before = _server_decisions(server, station_id)
    assert _show(station, server.qr_png(link)) == (False, Reason.MAINTENANCE)
    asked = _server_decisions(server, station_id)[len(asked_before) :]
    assert all(d == (False, Reason.MAINTENANCE.value) for d in asked), asked

    # A later config publish does not undo it: a rules change (new config version) ...
    version = station.agent.state.config_version
    reply = server.client.patch(
        f"/api/stations/{station_id}/rules", json={"capacity": 6, "reason": "more chairs"}
    )
    assert reply.status_code == 200, reply.text
    wait_for(lambda: station.agent.state.config_version > version, what="the new config")
    assert station.agent.mode == "maintenance"
    # ... nor a birth: the agent restarts, the server publishes the config again.
    station.stop()
    restarted_at = datetime.now(UTC)
    station = make_station(station_id)
    wait_for(lambda: _kept_config(station).issued_at > restarted_at, what="the config at birth")
    assert station.agent.mode == "maintenance"
    station.stop()
    assert _retained_config(server, station_id).mode == "maintenance"  # signed, retained

    # The server's own decision refuses with the maintenance reason.
    decision = _server_decides(server, station_id, server.token(link))
    assert (decision.allowed, decision.reason) == (False, Reason.MAINTENANCE)

    # A box restarted while it cannot reach the broker still refuses: its kept config.
    cut_off = make_station(station_id, wait_config=False, broker_port=free_port())
    wait_for(lambda: cut_off.agent.configured, what="the kept trust pages")
    assert cut_off.agent.mode == "maintenance"
    assert not cut_off.agent.state.connected
    assert _show(cut_off, server.qr_png(link)) == (False, Reason.MAINTENANCE)
    assert cut_off.sim.lock.unlock_count == 0
    cut_off.stop()

    # Back to normal: the next rider gets in.
    station = make_station(station_id)
    _command(server, station_id, kind="set_mode", mode="normal")
    wait_for(lambda: station.agent.mode == "normal", what="normal mode reaches the door")
    assert server.client.get(f"/api/stations/{station_id}").json()["maintenance"] is False
    assert _show(station, server.qr_png(link)) == (True, Reason.GRANTED)


def test_free_entry_needs_its_cause_and_ends_with_normal(
    server: ServerHarness, make_station: MakeStation
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id, capacity=1)
    station = make_station(station_id)
    url = f"/api/stations/{station_id}/commands"
    for body in (
        {"kind": "set_mode", "mode": "free_entry", "reason": "r"},  # which emergency?
        {"kind": "set_mode", "mode": "maintenance", "emergency": "typhoon", "reason": "r"},
        {"kind": "lockdown", "emergency": "typhoon", "reason": "r"},
        {"kind": "set_mode", "mode": "free_entry", "emergency": "meteor", "reason": "r"},
        {"kind": "set_mode", "mode": "normal", "reason": " "},
    ):
        reply = server.client.post(url, json=body)
        assert reply.status_code == 422, (body, reply.text)
    assert server.station(station_id).emergency is None

    _command(server, station_id, kind="set_mode", mode="free_entry", emergency="typhoon")
    wait_for(lambda: station.agent.mode == "free_entry", what="free entry reaches the door")
    assert server.station(station_id).emergency == "typhoon"
    riders = [server.enrol()[1] for _ in range(2)]
    assert _show(station, server.qr_png(riders[0]))[0] is True
    wait_for(lambda: server.station(station_id).occupancy == 1)
    assert _show(station, server.qr_png(riders[1]))[0] is True  # over capacity: shelter first

    _command(server, station_id, kind="set_mode", mode="normal")
    wait_for(lambda: station.agent.mode == "normal", what="normal mode reaches the door")
    assert server.station(station_id).emergency is None
