"""One rider's entry end to end on real parts: QR pixels → pyzbar → MQTT → server decision →
lock → events stored → occupancy; and the codes that must not open the door."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from demo.broker import PrivateBroker
from firmware_sim.rider import enter, leave
from protocol.payloads import ProvisioningBundle
from protocol.reasons import Reason
from tests.support.qr import qr_png
from tests.support.silent_server import SilentServer
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import stays, wait_for

MakeStation = Callable[..., StationHarness]


def _no_pause(_: float) -> None:
    return None


@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_entry_then_exit(server: ServerHarness, make_station: MakeStation) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    rider_id, link = server.enrol()
    rng = random.Random(1)

    shown = enter(station.sim, server.qr_png(link), rng, _no_pause)

    assert shown is not None
    assert (shown.allowed, shown.reason) == (True, Reason.GRANTED)
    assert station.sim.lock.unlock_count == 1
    wait_for(lambda: server.station(station_id).occupancy == 1, what="occupancy 1")
    wait_for(lambda: len(server.events(station_id)) == 3, what="three events stored")
    granted, opened, closed = server.events(station_id)
    assert (granted.kind, granted.rider_id, granted.decided_by) == (
        "access_granted",
        rider_id,
        "server",
    )
    assert (opened.kind, opened.passage, opened.rider_id) == ("door_opened", "entry", rider_id)
    assert closed.kind == "door_closed"
    assert [e.seq for e in server.events(station_id)] == [1, 2, 3]
    [decision] = server.decisions(station_id)
    assert (decision.allowed, decision.rider_id, decision.reason) == (True, rider_id, "granted")
    assert not station.sim.lock.unlocked  # relocked as soon as the door closed

    leave(station.sim, rng, _no_pause)

    wait_for(lambda: server.station(station_id).occupancy == 0, what="occupancy 0")
    wait_for(lambda: len(server.events(station_id)) == 6, what="the close, once debounced")
    kinds = [(e.kind, e.passage) for e in server.events(station_id)]
    assert kinds[3:] == [("exit_pressed", None), ("door_opened", "exit"), ("door_closed", None)]


def test_frame_without_code_does_nothing(server: ServerHarness, make_station: MakeStation) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    frames_before = station.sim.camera.frames_read

    wait_for(lambda: station.sim.camera.frames_read >= frames_before + 10, what="10 frames")

    assert station.sim.display.count == 0
    assert station.sim.lock.unlock_count == 0
    assert station.agent.events_emitted == 0
    assert server.events(station_id) == []


def _denied_at_door(
    server: ServerHarness, station: StationHarness, screen: bytes, reason: Reason
) -> None:
    shown = enter(station.sim, screen, random.Random(2), _no_pause)
    assert shown is not None
    assert (shown.allowed, shown.reason) == (False, reason)
    assert station.sim.lock.unlock_count == 0
    assert not station.sim.door.is_open
    events = wait_for(lambda: server.events(station.station_id), what="the denial stored")
    assert [(e.kind, e.reason) for e in events] == [("access_denied", reason.value)]
    assert server.station(station.station_id).occupancy == 0


def test_url_code_is_refused(server: ServerHarness, make_station: MakeStation) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)

    _denied_at_door(server, station, qr_png("https://example.com/free-wifi"), Reason.NOT_OUR_CODE)
    assert server.decisions(station_id) == []  # refused at the station, the server never asked


def test_broken_signature_is_refused(server: ServerHarness, make_station: MakeStation) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    _, link = server.enrol()
    token = server.token(link)
    last = token[-1]
    broken = token[:-1] + ("0" if last != "0" else "1")

    _denied_at_door(server, station, qr_png(broken), Reason.BAD_SIGNATURE)


def test_token_of_another_deployment_is_refused(
    server: ServerHarness, make_station: MakeStation
) -> None:
    """Signed with a key this deployment does not know: the station never unlocks."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from protocol.credential import Claims, new_nonce, sign_token

    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    rider_id, _ = server.enrol()
    now = int(server.services.clock())
    foreign = sign_token(
        Claims("evil0001", rider_id, "ws-test", now, 60, new_nonce(), 1),
        Ed25519PrivateKey.generate(),
    )

    _denied_at_door(server, station, qr_png(foreign), Reason.UNKNOWN_KEY)


def test_station_without_config_refuses(
    server: ServerHarness,
    make_station: MakeStation,
    broker: PrivateBroker,
    bundles: dict[str, ProvisioningBundle],
) -> None:
    """A station the server does not know gets no keys, so nothing can open it."""
    station_id = unique_station_id()
    SilentServer(broker, bundles).provision(station_id)  # a bundle our server never made
    station = make_station(station_id, wait_config=False)
    _, link = server.enrol()

    shown = enter(station.sim, server.qr_png(link), random.Random(3), _no_pause)

    assert shown is not None
    assert (shown.allowed, shown.reason) == (False, Reason.NOT_CONFIGURED)
    assert station.sim.lock.unlock_count == 0
    assert stays(lambda: station.sim.lock.unlocked, for_s=0.3)
