"""The alarm console's API on the real server: the list across stations by kind, station and
state; acknowledging (a note if wished) and resolving (a note required), each audited; every
refusal changes nothing; the live stream tells a page that an alarm came and how many are
open. And the station controls' own refusals: blank reasons, unknown stations, an unlock for
an offline station not confirmed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session

from server.alarms.models import Alarm
from server.alarms.repo import raise_alarm
from tests.support.stack import ServerHarness, unique_station_id

BOTH_DATABASES = pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)


def _raise(server: ServerHarness, station_id: str, kind: str, minutes_ago: int = 0) -> int:
    with Session(server.services.engine) as session:
        alarm = raise_alarm(
            session,
            station_id=station_id,
            kind=kind,
            at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        )
        session.commit()
        assert alarm.id is not None
        return alarm.id


def _alarm(server: ServerHarness, alarm_id: int) -> Alarm:
    with Session(server.services.engine) as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None
        return alarm


def _audit(server: ServerHarness, station_id: str) -> list[dict[str, object]]:
    reply = server.client.get("/api/audit", params={"station_id": station_id})
    entries: list[dict[str, object]] = reply.json()
    return entries


def _ids(server: ServerHarness, **params: object) -> list[int]:
    reply = server.client.get("/api/alarms", params=params)
    assert reply.status_code == 200, reply.text
    return [a["id"] for a in reply.json()]


@BOTH_DATABASES
def test_the_list_across_stations_and_its_filters(server: ServerHarness) -> None:
    north, south = unique_station_id(), unique_station_id()
    server.add_station(north)
    server.add_station(south)
    held = _raise(server, north, "held_open", minutes_ago=3)
    forced = _raise(server, south, "forced_open", minutes_ago=2)
    welfare = _raise(server, north, "welfare", minutes_ago=1)
    server.client.post(f"/api/alarms/{held}/acknowledge").raise_for_status()
    server.client.post(f"/api/alarms/{welfare}/resolve", json={"note": "rider fine"})

    assert _ids(server, station_id=north) == [welfare, held]
    assert _ids(server, kind="forced_open") == [forced]
    assert _ids(server, station_id=north, state="open") == []
    assert _ids(server, station_id=north, state="acknowledged") == [held]
    assert _ids(server, station_id=north, state="resolved") == [welfare]
    assert _ids(server, station_id=south, unacknowledged=True) == [forced]
    for bad in ({"state": "forgotten"}, {"kind": "Forced Open"}, {"limit": 0}):
        assert server.client.get("/api/alarms", params=bad).status_code == 422, bad

    page = server.client.get("/alarms", params={"station": north, "state": "all"})
    assert page.status_code == 200
    assert page.text.count("<tr data-alarm=") == 2
    fragment = server.client.get("/alarms/list", params={"kind": "forced_open"})
    assert fragment.status_code == 200
    assert f'data-alarm="{forced}"' in fragment.text
    assert "<html" not in fragment.text  # the list alone
    assert server.client.get("/alarms", params={"state": "forgotten"}).status_code == 422


@BOTH_DATABASES
def test_acknowledge_and_resolve_with_notes_and_every_refusal(server: ServerHarness) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    alarm_id = _raise(server, station_id, "forced_open")
    audited = len(_audit(server, station_id))

    url = f"/api/alarms/{alarm_id}"
    for body in ({}, {"note": ""}, {"note": "   "}, {"note": "x" * 201}, None):
        reply = server.client.post(f"{url}/resolve", json=body)
        assert reply.status_code == 422, (body, reply.text)
    assert server.client.post(f"{url}/acknowledge", json={"note": "x" * 201}).status_code == 422
    assert server.client.post("/api/alarms/999999/resolve", json={"note": "n"}).status_code == 404
    assert server.client.post("/api/alarms/999999/acknowledge").status_code == 404
    untouched = _alarm(server, alarm_id)
    assert (untouched.acknowledged_at, untouched.resolved_at) == (None, None)
    assert len(_audit(server, station_id)) == audited

    reply = server.client.post(f"{url}/acknowledge", json={"note": "  on my way  "})
    assert reply.status_code == 200, reply.text
    assert (reply.json()["state"], reply.json()["acknowledged_note"]) == (
        "acknowledged",
        "on my way",
    )
    assert server.client.post(f"{url}/acknowledge").status_code == 409
    reply = server.client.post(f"{url}/resolve", json={"note": "lock replaced"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["state"], body["resolved_by"], body["resolution"]) == (
        "resolved",
        "admin",
        "lock replaced",
    )
    again = server.client.post(f"{url}/resolve", json={"note": "twice"})
    assert again.status_code == 409
    assert "already resolved by admin" in again.json()["detail"]
    actions = [(e["action"], e["reason"]) for e in _audit(server, station_id)[:2]]
    assert actions == [("alarm_resolved", "lock replaced"), ("alarm_acknowledged", "on my way")]

    # Resolving an open alarm acknowledges it by the same stroke: it is no longer "open".
    other = _raise(server, station_id, "held_open")
    server.client.post(f"/api/alarms/{other}/resolve", json={"note": "closed it"})
    assert _alarm(server, other).acknowledged_by == "admin"
    assert other not in _ids(server, unacknowledged=True)


def _events(reply: httpx.Response) -> Iterator[tuple[str, dict[str, object]]]:
    event = ""
    for line in reply.iter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, json.loads(line.removeprefix("data: "))


@BOTH_DATABASES
def test_the_stream_tells_of_a_new_alarm_and_the_followed_stations_activity(
    server: ServerHarness,
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id, name="西湖驿站")
    params = {"station_id": station_id}
    assert httpx.get(f"{server.client.base_url}/api/alarms/stream").status_code == 401
    for bad in ({"station_id": "no spaces"}, {"station_id": [f"st-{n}" for n in range(21)]}):
        assert server.client.get("/api/alarms/stream", params=bad).status_code == 422

    with server.client.stream("GET", "/api/alarms/stream", params=params, timeout=20) as reply:
        assert reply.status_code == 200
        events = _events(reply)
        first = next(events)
        assert first[0] == "alarms"
        assert next(events) == ("activity", {station_id: None})
        _raise(server, station_id, "forced_open")
        event, data = next(events)
        assert event == "alarms"
        assert data["open"] == int(first[1]["open"]) + 1  # type: ignore[call-overload]
        newest = data["newest"]
        assert isinstance(newest, dict)
        assert (newest["station_id"], newest["kind"]) == (station_id, "forced_open")
        assert newest["text"] == "西湖驿站：门被强行打开"


def test_station_controls_refuse_what_is_wrong_and_change_nothing(server: ServerHarness) -> None:
    station_id = unique_station_id()
    server.add_station(station_id, capacity=4)  # no agent: the station is offline
    before = server.client.get(f"/api/stations/{station_id}").json()
    audited = len(_audit(server, station_id))
    base = f"/api/stations/{station_id}"
    refused = [
        ("POST", f"{base}/occupancy", {"target": 2, "reason": "  "}, 422),
        ("POST", f"{base}/commands", {"kind": "lockdown", "reason": " "}, 422),
        ("PATCH", f"{base}/rules", {"capacity": 0, "reason": "r"}, 422),
        ("PATCH", f"{base}/rules", {"capacity": 3, "reason": ""}, 422),
        (
            "PATCH",
            f"{base}/rules",
            {"opening_hours": {"weekly": [["22:00"]] * 7}, "reason": "r"},
            422,
        ),
        ("POST", f"{base}/provision", {"reason": "  "}, 422),
        ("POST", "/api/stations/nowhere/occupancy", {"target": 1, "reason": "r"}, 404),
        ("POST", "/api/stations/nowhere/commands", {"kind": "lockdown", "reason": "r"}, 404),
        ("POST", "/api/stations/nowhere/provision", {"reason": "r"}, 404),
        # Offline: an unlock would not arrive in time; staff must say they know.
        ("POST", f"{base}/commands", {"kind": "remote_unlock", "reason": "r"}, 409),
    ]
    for method, path, body, status in refused:
        reply = server.client.request(method, path, json=body)
        assert reply.status_code == status, (path, body, reply.text)
    assert server.client.get(f"/api/stations/{station_id}").json() == before
    assert len(_audit(server, station_id)) == audited
    for page in ("/stations/nowhere", "/stations/nowhere/log", "/stations/nowhere/audit"):
        assert server.client.get(page).status_code == 404, page

    confirmed = {"kind": "remote_unlock", "reason": "phone dead", "confirm_offline": True}
    assert server.client.post(f"{base}/commands", json=confirmed).status_code == 202
    [entry] = [e for e in _audit(server, station_id) if e["action"] == "command_remote_unlock"]
    assert entry["after"] == {"station_online": False}
