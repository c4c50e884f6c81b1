"""The door keeps working when the server or the broker does not answer, and everything it
recorded reaches the server exactly once when the link returns."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable

import pytest

from demo.broker import PrivateBroker
from firmware_sim.rider import enter
from protocol import topics
from protocol.payloads import ProvisioningBundle
from protocol.reasons import Reason
from protocol.topics import Family
from tests.support.mqtt_peer import mqtt_peer
from tests.support.qr import qr_png
from tests.support.silent_server import SilentServer
from tests.support.stack import SHOW_WAIT_S, ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]

# Speaks as the server and as stations straight through the broker: an open one (the
# secure broker's accounts are tested in test_broker_acl.py and test_attacks.py).
pytestmark = pytest.mark.parametrize("broker", ["open"], indirect=True)


def _no_pause(_: float) -> None:
    return None


def _show(station: StationHarness, screen: bytes) -> tuple[bool, Reason]:
    shown = enter(station.sim, screen, random.Random(0), _no_pause, wait_s=SHOW_WAIT_S)
    assert shown is not None, "the station showed nothing"
    return shown.allowed, shown.reason


@pytest.fixture
def silent(broker: PrivateBroker, bundles: dict[str, ProvisioningBundle]) -> SilentServer:
    return SilentServer(broker, bundles)


def _silent_station(
    silent: SilentServer, make_station: MakeStation, **settings: object
) -> tuple[StationHarness, SilentServer]:
    station_id = unique_station_id()
    silent.provision(station_id)
    station = make_station(station_id, wait_config=False, decision_timeout_s=0.3, **settings)
    silent.configure(station_id)
    wait_for(lambda: station.agent.configured, what="config applied")
    return station, silent


def test_valid_code_enters_when_the_server_is_silent(
    silent: SilentServer, broker: PrivateBroker, make_station: MakeStation
) -> None:
    station, _ = _silent_station(silent, make_station)

    assert _show(station, qr_png(silent.token())) == (True, Reason.GRANTED)

    assert station.sim.lock.unlock_count == 1
    # Recorded locally, waiting for a server to acknowledge it.
    wait_for(lambda: station.agent.outbox_depth == 3, what="grant, opened, closed in the outbox")
    [(_, payload)] = station.agent.store.pending(limit=1)
    grant = json.loads(payload)
    assert (grant["kind"], grant["decided_by"]) == ("access_granted", "station")


def test_offline_entry_can_be_switched_off(
    silent: SilentServer, broker: PrivateBroker, make_station: MakeStation
) -> None:
    station, _ = _silent_station(silent, make_station, offline_entry="deny")
    assert _show(station, qr_png(silent.token())) == (False, Reason.SERVER_UNAVAILABLE)
    assert station.sim.lock.unlock_count == 0


def test_stale_denylist_stops_offline_entry(
    silent: SilentServer, broker: PrivateBroker, make_station: MakeStation
) -> None:
    station_id = unique_station_id()
    silent.provision(station_id)
    station = make_station(
        station_id, wait_config=False, decision_timeout_s=0.3, max_denylist_age_s=60
    )
    silent.configure(station_id, issued_at=time.time() - 120)
    wait_for(lambda: station.agent.configured, what="config applied")

    assert _show(station, qr_png(silent.token())) == (False, Reason.DENYLIST_STALE)
    assert station.sim.lock.unlock_count == 0


def test_bad_acknowledgements_delete_nothing(
    silent: SilentServer, broker: PrivateBroker, make_station: MakeStation
) -> None:
    station, _ = _silent_station(silent, make_station)
    for i in range(3):
        assert _show(station, qr_png(f"https://example.com/{i}"))[0] is False
    wait_for(lambda: station.agent.highest_sent == 3, what="three events sent")
    epoch = station.agent.store.epoch
    ack_topic = topics.station_topic(station.station_id, Family.EVENTS_ACK)

    def signed(payload: bytes) -> tuple[tuple[str, str], ...]:
        return silent.signed(station.station_id, Family.EVENTS_ACK, payload)

    def ack(**fields: object) -> bytes:
        body = {"v": 1, "station_id": station.station_id, "epoch": epoch, "acked": [1]}
        return json.dumps({**body, **fields}).encode()

    with mqtt_peer(broker.port) as peer:
        for payload in (
            b"{not json",
            b"",
            ack(acked="all"),
            ack(station_id="someone-else"),
            ack(epoch="0" * 16),
            ack(acked=[1, 99]),  # ahead of what was sent
            ack(acked=[], missing=[[1, 99]]),
            ack(acked=[0]),
            ack(v=2),
        ):
            # Signed as the server would: the content alone must make the station refuse.
            peer.publish(ack_topic, payload, user_properties=signed(payload))
        wait_for(lambda: station.transport.dropped_messages >= 5, what="bad acks dropped")
        # A good acknowledgement that the server did not sign deletes nothing either.
        good = ack(acked=[1, 2])
        peer.publish(ack_topic, good)
        wait_for(lambda: station.transport.dropped["unsigned"] == 1, what="unsigned ack dropped")
        assert station.agent.outbox_depth == 3

        peer.publish(ack_topic, good, user_properties=signed(good))  # a signed one does delete
        wait_for(lambda: station.agent.outbox_depth == 1, what="acknowledged rows deleted")


def test_broker_outage_entries_continue_and_everything_arrives_once(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    first, second = unique_station_id(), unique_station_id()
    server.add_station(first)
    server.add_station(second)
    station = make_station(first, decision_timeout_s=1.0)
    other = make_station(second)
    screens = [server.qr_png(server.enrol()[1]) for _ in range(3)]

    assert _show(station, screens[0]) == (True, Reason.GRANTED)  # online
    broker.stop()
    wait_for(lambda: not station.transport.is_connected(), what="the station to notice")
    assert _show(station, screens[1]) == (True, Reason.GRANTED)  # offline
    assert _show(station, screens[2]) == (True, Reason.GRANTED)
    assert station.agent.outbox_depth >= 6

    broker.start()
    wait_for(
        lambda: (
            station.agent.outbox_depth == 0
            and len(server.events(first)) == station.agent.events_emitted
        ),
        timeout_s=30,
        what="the outbox to drain after the broker returns",
    )
    events = server.events(first)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # in order, no gap
    assert len({e.event_id for e in events}) == len(events)
    grants = [e.decided_by for e in events if e.kind == "access_granted"]
    assert grants == ["server", "station", "station"]
    assert server.station(first).occupancy == 3

    # An entry decided offline used its code up everywhere: a screenshot fails elsewhere.
    wait_for(lambda: other.transport.is_connected() and other.agent.configured)
    assert _show(other, screens[1]) == (False, Reason.REPLAYED)
