"""The next step at every dead end, at a real door: a station full, closed by its hours, in
maintenance or locked down names the nearest open station with room and how far it is, and
when it reopens; with nowhere to send the rider, and for a disabled pass, the union's hotline,
which stations hold from the keys page (so offline too). Real broker, server and a simulated
station."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from demo.broker import PrivateBroker
from firmware_sim.display import Shown
from firmware_sim.rider import enter, leave
from protocol.payloads import DecidedBy, EventKind, ProvisioningBundle
from protocol.reasons import Reason
from server.core.localtime import LOCAL_TZ
from server.core.settings import ServerSettings
from server.events.models import EventRecord
from tests.conftest import ADMIN_PASSWORD, SERVER_BROKER_PASSWORD, logged_in_server
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]
HERE = (30.2741, 120.1551)
NORTH_HILL = (30.2800, 120.1600)  # about 800 m away
FAR_TOWN = (30.6000, 120.5000)  # about 48 km: no next step for someone on a bike


@pytest.fixture
def server(
    broker: PrivateBroker, tmp_path: Path, bundles: dict[str, ProvisioningBundle]
) -> Iterator[ServerHarness]:
    settings = ServerSettings(
        data_dir=tmp_path / "server",
        audience="ws-test",
        admin_password=ADMIN_PASSWORD,
        hotline="12351",
        **broker.server_settings(SERVER_BROKER_PASSWORD),  # type: ignore[arg-type]
    )
    with logged_in_server(settings, broker, bundles) as harness:
        yield harness


def _no_pause(_: float) -> None:
    return None


def _add(server: ServerHarness, capacity: int, at: tuple[float, float], name: str) -> str:
    station_id = unique_station_id()
    server.add_station(station_id, capacity, name=name, latitude=at[0], longitude=at[1])
    return station_id


def _rules(server: ServerHarness, station_id: str, **change: object) -> None:
    reply = server.client.patch(
        f"/api/stations/{station_id}/rules", json={"reason": "test", **change}
    )
    assert reply.status_code == 200, reply.text


def _command(server: ServerHarness, station_id: str, kind: str) -> None:
    reply = server.client.post(
        f"/api/stations/{station_id}/commands", json={"kind": kind, "reason": "test"}
    )
    assert reply.status_code == 202, reply.text


def _scan(server: ServerHarness, station: StationHarness) -> Shown:
    shown = enter(station.sim, server.qr_png(server.enrol()[1]), random.Random(0), _no_pause)
    assert shown is not None
    return shown


def test_each_dead_end_names_the_nearest_station_with_room(
    server: ServerHarness, make_station: MakeStation
) -> None:
    here = _add(server, 1, HERE, "西湖驿站")
    north = _add(server, 5, NORTH_HILL, "北山驿站")
    _add(server, 5, FAR_TOWN, "远郊驿站")
    station = make_station(here)
    assert station.agent.state.trust_keys is not None
    assert station.agent.state.trust_keys.hotline == "12351"  # from the keys page
    go_north = "北山驿站有空位，距此800米"

    assert _scan(server, station).allowed  # the one place
    wait_for(lambda: server.station(here).occupancy == 1, what="one inside")
    full = _scan(server, station)
    assert (full.allowed, full.reason, full.text) == (
        False,
        Reason.STATION_FULL,
        f"本站已满。{go_north}",
    )
    assert full.text_en == "Station full. 北山驿站 has room, 800 m away"
    leave(station.sim, random.Random(1), _no_pause)
    wait_for(lambda: server.station(here).occupancy == 0, what="nobody inside")

    _rules(server, here, maintenance=True)
    wait_for(lambda: station.agent.mode == "maintenance", what="maintenance at the door")
    shown = _scan(server, station)
    assert (shown.reason, shown.text) == (Reason.MAINTENANCE, f"本站维护中。{go_north}")
    _rules(server, here, maintenance=False)
    wait_for(lambda: station.agent.mode == "normal")

    _command(server, here, "lockdown")
    wait_for(lambda: station.agent.lockdown, what="lockdown at the door")
    shown = _scan(server, station)
    assert (shown.reason, shown.text) == (Reason.LOCKDOWN, f"本站暂时关闭。{go_north}")
    _command(server, here, "lockdown_release")
    wait_for(lambda: not station.agent.lockdown)

    # Closed by its hours: open for an hour, starting two hours from now.
    opens = (datetime.now(LOCAL_TZ) + timedelta(hours=2)).replace(second=0, microsecond=0)
    span = [opens.strftime("%H:%M"), (opens + timedelta(hours=1)).strftime("%H:%M")]
    _rules(server, here, opening_hours={"weekly": [span] * 7})
    shown = _scan(server, station)
    today = opens.date() == datetime.now(LOCAL_TZ).date()
    when = opens.strftime("%H:%M") if today else "明天" + opens.strftime("%H:%M")
    assert (shown.reason, shown.text) == (Reason.CLOSED_NOW, f"本站{when}开放。{go_north}")

    # Nowhere near with room: the hotline is the next step.
    _rules(server, north, maintenance=True)
    shown = _scan(server, station)
    assert shown.reason is Reason.CLOSED_NOW
    assert shown.text == f"本站{when}开放。求助热线 12351"

    def denials() -> list[EventRecord]:
        return [e for e in server.events(here) if e.kind == EventKind.ACCESS_DENIED]

    denied = wait_for(lambda: len(denials()) == 5 and denials(), what="the denials reported")
    assert [e.reason for e in denied] == [
        Reason.STATION_FULL,
        Reason.MAINTENANCE,
        Reason.LOCKDOWN,
        Reason.CLOSED_NOW,
        Reason.CLOSED_NOW,
    ]
    # A station closed to everyone decided itself; it asked the server only for the hint.
    assert [e.decided_by for e in denied][1:3] == [DecidedBy.STATION, DecidedBy.STATION]
    assert station.sim.lock.unlock_count == 2  # the one rider in, and out


def test_a_disabled_pass_and_an_offline_dead_end_name_the_hotline(
    server: ServerHarness, make_station: MakeStation
) -> None:
    here = _add(server, 3, HERE, "西湖驿站")
    station = make_station(here)
    rider_id, link = server.enrol()
    code = server.qr_png(link)
    server.client.post(f"/api/riders/{rider_id}/revoke").raise_for_status()
    shown = enter(station.sim, code, random.Random(0), _no_pause)
    assert shown is not None
    assert (shown.reason, shown.text) == (Reason.REVOKED, "通行证已停用，请致电 12351")
    page = server.client.get(link)  # the rider's own page says the same
    assert page.status_code == 410
    assert "通行证已停用，请致电 12351" in page.text
    assert "此链接无效，请致电 12351 获取新链接" in server.client.get("/r/no-such-link").text

    _command(server, here, "lockdown")
    wait_for(lambda: station.agent.lockdown, what="lockdown at the door")
    server.broker.stop()  # no server to ask: the station still knows the hotline
    wait_for(lambda: not station.agent.state.connected, what="the link to drop")
    shown = _scan_offline(server, station)
    assert (shown.reason, shown.text) == (Reason.LOCKDOWN, "本站暂时关闭。求助热线 12351")


def _scan_offline(server: ServerHarness, station: StationHarness) -> Shown:
    """A code fetched over HTTP (the server is up; only the broker is down)."""
    shown = enter(station.sim, server.qr_png(server.enrol()[1]), random.Random(2), _no_pause)
    assert shown is not None
    return shown
