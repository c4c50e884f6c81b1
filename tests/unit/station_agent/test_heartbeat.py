"""The heartbeat through the agent's loop: what it says, and when it goes."""

from __future__ import annotations

import numpy as np
import pytest

from protocol.payloads import Heartbeat
from protocol.reasons import Reason
from station_agent.inbox import LinkChanged
from tests.unit.station_agent.rig import EPOCH, NOW, STATION, Rig, ack, at, decision, token


def test_the_heartbeat_says_how_the_station_is() -> None:
    rig = Rig.build()
    assert rig.transport.heartbeats == [  # the first goes at the first turn
        Heartbeat(
            station_id=STATION,
            session_id="session-1",
            sent_at=at(NOW),
            interval_s=30.0,
            camera_ok=True,
            clock_offset_s=None,
            outbox_depth=0,
            epoch=EPOCH,
            outbox_floor=1,
            config_version=1,
            offline_refusal=None,
        )
    ]

    rig.scan("junk-1", "junk-2")  # two denial events
    text, _ = token()
    rig.scan(text)
    rig.send(decision(rig.last_request_id, decided_at=NOW + 20.2))  # a grant: a third event
    rig.send(ack(1))
    rig.turn(30.0)

    beat = rig.transport.heartbeats[-1]
    assert beat.sent_at == at(rig.clock())
    assert (beat.outbox_depth, beat.outbox_floor) == (2, 2)
    assert beat.clock_offset_s == pytest.approx(20.0)
    assert (beat.camera_ok, beat.offline_refusal) == (True, None)


def test_heartbeats_go_every_interval_and_only_while_linked() -> None:
    rig = Rig.build(heartbeat_s=30.0)
    rig.turn(29.0)
    assert len(rig.transport.heartbeats) == 1
    rig.turn(1.0)
    assert len(rig.transport.heartbeats) == 2

    rig.send(LinkChanged(connected=False))
    rig.turn(30.0)
    assert len(rig.transport.heartbeats) == 2  # skipped, not kept for later
    rig.send(LinkChanged(connected=True))
    assert len(rig.transport.heartbeats) == 2
    rig.turn(30.0)
    assert len(rig.transport.heartbeats) == 3


def test_the_heartbeat_reports_a_silent_camera_and_why_offline_entry_is_refused() -> None:
    rig = Rig.build(offline_entry="deny")
    rig.camera.dead = True
    rig.turn(4.0)
    rig.turn(26.0)

    beat = rig.transport.heartbeats[-1]
    assert beat.sent_at == at(NOW + 30)
    assert not beat.camera_ok
    assert beat.offline_refusal is Reason.SERVER_UNAVAILABLE


def test_an_unconfigured_station_says_so() -> None:
    rig = Rig.build(configured=False)
    [beat] = rig.transport.heartbeats
    assert (beat.config_version, beat.offline_refusal) == (0, Reason.NOT_CONFIGURED)


def test_a_ready_station_names_no_reason_and_a_stalled_camera_is_named() -> None:
    rig = Rig.build()
    assert rig.transport.heartbeats[-1].not_ready == []
    rig.camera.dead = True
    rig.turn(30.0)
    assert rig.transport.heartbeats[-1].not_ready == ["camera_stalled"]
    rig.camera.dead = False
    rig.turn(30.0)
    assert rig.transport.heartbeats[-1].not_ready == []


def test_a_covered_camera_is_named_blind() -> None:
    rig = Rig.build()
    rig.camera._frame = np.zeros((48, 64), dtype=np.uint8)  # dark and flat: a covered lens
    rig.turn(30.0)
    assert rig.transport.heartbeats[-1].not_ready == ["camera_blind"]


def test_events_the_server_does_not_acknowledge_become_a_backlog() -> None:
    rig = Rig.build()
    rig.scan("junk-1")  # a denial event, never acknowledged
    rig.turn(90.0)
    assert rig.transport.heartbeats[-1].not_ready == []  # waiting, not yet too long
    rig.turn(60.0)
    beat = rig.transport.heartbeats[-1]
    assert (beat.outbox_depth, beat.not_ready) == (1, ["outbox_backlog"])
    rig.send(ack(1))
    rig.turn(30.0)
    assert rig.transport.heartbeats[-1].not_ready == []
