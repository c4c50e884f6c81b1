"""Door scenarios driven through the real agent on simulated hardware, checked at the server:
forced open, held open, camera covered, remote unlock, lockdown."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from demo.broker import PrivateBroker
from firmware_sim.rider import enter
from protocol import topics
from protocol.payloads import CommandKind, StationCommand, dump
from protocol.reasons import Reason
from protocol.topics import Family
from server.alarms.models import Alarm
from tests.support.mqtt_peer import mqtt_peer
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]


def _alarms(server: ServerHarness, station_id: str) -> list[Alarm]:
    with Session(server.services.engine) as session:
        return list(session.exec(select(Alarm).where(Alarm.station_id == station_id)))


def _station(
    server: ServerHarness, make_station: MakeStation, **settings: object
) -> StationHarness:
    station_id = unique_station_id()
    server.add_station(station_id)
    return make_station(station_id, **settings)


def test_forced_door_raises_one_alarm_until_it_closes(
    server: ServerHarness, make_station: MakeStation
) -> None:
    station = _station(server, make_station)
    station.sim.lock.unlock()  # a jammed strike or a crowbar: the agent did not release it
    station.sim.door.open()

    [alarm] = wait_for(lambda: _alarms(server, station.station_id), what="a forced-open alarm")
    assert alarm.kind == "forced_open"
    assert alarm.cleared_at is None
    assert server.station(station.station_id).door_phase == "forced_open"
    assert server.station(station.station_id).occupancy == 0  # nobody counted in

    station.sim.door.close()
    station.sim.lock.lock()
    wait_for(lambda: _alarms(server, station.station_id)[0].cleared_at is not None, what="cleared")
    assert len(_alarms(server, station.station_id)) == 1


def test_door_held_open_raises_an_alarm(server: ServerHarness, make_station: MakeStation) -> None:
    station = _station(server, make_station, held_open_s=1.0)
    station.sim.exit_button.press()
    wait_for(lambda: station.sim.lock.unlocked, what="released for the exit")
    station.sim.door.open(from_inside=True)

    [alarm] = wait_for(lambda: _alarms(server, station.station_id), timeout_s=8, what="held open")
    assert alarm.kind == "held_open"
    station.sim.door.close()
    wait_for(lambda: _alarms(server, station.station_id)[0].cleared_at is not None, what="cleared")


def test_covered_camera_raises_a_tamper_alarm(
    server: ServerHarness, make_station: MakeStation
) -> None:
    station = _station(server, make_station, camera_trouble_s=0.5)
    station.sim.camera.cover()
    [alarm] = wait_for(lambda: _alarms(server, station.station_id), timeout_s=8, what="tamper")
    assert alarm.kind == "camera_tamper"
    assert "covered" in alarm.detail
    station.sim.camera.withdraw()
    wait_for(lambda: _alarms(server, station.station_id)[0].cleared_at is not None, what="cleared")


def _command(server: ServerHarness, station_id: str, **body: object) -> dict[str, object]:
    reply = server.client.post(
        f"/api/stations/{station_id}/commands", json={"reason": "test", **body}
    )
    assert reply.status_code == 202, reply.text
    result: dict[str, object] = reply.json()
    return result


def _audit_actions(server: ServerHarness, station_id: str) -> list[str]:
    """What happened at the station since it was created (that is audited too)."""
    entries = server.client.get("/api/audit", params={"station_id": station_id}).json()
    return [entry["action"] for entry in reversed(entries) if entry["action"] != "station_created"]


def test_remote_unlock_is_done_once_and_audited(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    station = _station(server, make_station)
    sent = _command(server, station.station_id, kind="remote_unlock")

    wait_for(lambda: station.sim.lock.unlock_count == 1, what="the remote unlock")
    wait_for(
        lambda: "command_done" in _audit_actions(server, station.station_id),
        what="the station's answer in the audit trail",
    )
    assert _audit_actions(server, station.station_id) == ["command_remote_unlock", "command_done"]

    # The same command again (a replayed message): refused, the door stays shut.
    now = datetime.now(UTC)
    replay = StationCommand(
        command_id=str(sent["command_id"]),
        station_id=station.station_id,
        kind=CommandKind.REMOTE_UNLOCK,
        issued_at=now,
        expires_at=now + timedelta(seconds=20),
        issued_by="staff-wang",
        reason="test",
    )
    payload = dump(replay)  # signed as the server would: only the command id is stale
    with mqtt_peer(server.peer_settings()) as peer:
        peer.publish(
            topics.station_topic(station.station_id, Family.COMMANDS),
            payload,
            user_properties=server.control_signed(station.station_id, Family.COMMANDS, payload),
        )
    wait_for(
        lambda: "command_refused" in _audit_actions(server, station.station_id),
        what="the repeat refused",
    )
    assert station.sim.lock.unlock_count == 1


def test_lockdown_refuses_everyone_until_released(
    server: ServerHarness, make_station: MakeStation
) -> None:
    # The rider tries again right after the release: a short cooldown, not a sleep, makes sure
    # no earlier read holds the second try back.
    station = _station(server, make_station, scan_cooldown_s=0.2)
    _, link = server.enrol()
    _command(server, station.station_id, kind="lockdown")
    wait_for(lambda: station.agent.lockdown, what="the station in lockdown")

    shown = enter(station.sim, server.qr_png(link), random.Random(1), lambda _: None)
    assert shown is not None
    assert (shown.allowed, shown.reason) == (False, Reason.LOCKDOWN)
    _command(server, station.station_id, kind="remote_unlock")
    wait_for(
        lambda: "command_refused" in _audit_actions(server, station.station_id),
        what="no remote unlock in lockdown",
    )
    assert station.sim.lock.unlock_count == 0

    _command(server, station.station_id, kind="lockdown_release")
    wait_for(lambda: not station.agent.lockdown, what="released")
    shown = enter(station.sim, server.qr_png(link), random.Random(2), lambda _: None)
    assert shown is not None
    assert shown.allowed


def test_command_bad_input_changes_nothing(
    server: ServerHarness, make_station: MakeStation
) -> None:
    station = _station(server, make_station)
    url = f"/api/stations/{station.station_id}/commands"
    for body in (
        {"kind": "remote_unlock", "by": "x"},  # no reason
        {"kind": "open_sesame", "reason": "r"},
        {"kind": "set_mode", "reason": "r"},  # no mode
        {"kind": "remote_unlock", "mode": "normal", "reason": "r"},
    ):
        assert server.client.post(url, json=body).status_code == 422, body
    assert (
        server.client.post(
            "/api/stations/nowhere/commands", json={"kind": "lockdown", "reason": "r"}
        ).status_code
        == 404
    )
    # Then a valid command: once the station has answered it, anything sent before has
    # arrived too, so whatever the bad requests did would show by now.
    _command(server, station.station_id, kind="set_mode", mode="normal")
    wait_for(
        lambda: "command_done" in _audit_actions(server, station.station_id),
        what="the valid command answered",
    )
    assert station.sim.lock.unlock_count == 0
    assert not station.agent.lockdown
    assert _audit_actions(server, station.station_id) == ["command_set_mode", "command_done"]
