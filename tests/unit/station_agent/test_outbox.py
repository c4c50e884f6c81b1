"""The outbox through the agent's loop: events committed in seq order, sent in order, sent again
when unacknowledged too long, deleted only on a matching acknowledgement."""

from __future__ import annotations

import pytest

from protocol.payloads import EventKind
from station_agent.inbox import AckArrived, LinkChanged
from tests.unit.station_agent.rig import Rig, ack


def _three_events(rig: Rig) -> None:
    """Three riders with codes that are not ours, in one frame: three denial events."""
    rig.scan("junk-1", "junk-2", "junk-3")


def test_events_are_numbered_sent_in_order_and_kept_until_acknowledged() -> None:
    rig = Rig.build()
    _three_events(rig)

    assert [event.seq for event in rig.events()] == [1, 2, 3]
    assert rig.kinds() == [EventKind.ACCESS_DENIED] * 3
    assert rig.transport.sent_seqs == [1, 2, 3]
    assert rig.agent.outbox_depth == 3

    rig.send(ack(1, 3))
    assert sorted(rig.store.outbox) == [2]
    rig.turn(1.0)
    assert rig.transport.sent_seqs == [1, 2, 3]  # nothing sent twice before its time


def test_an_event_unacknowledged_too_long_is_sent_again() -> None:
    rig = Rig.build(outbox_resend_s=5.0)
    _three_events(rig)
    rig.send(ack(1, 3))

    rig.turn(4.9)
    assert rig.transport.sent_seqs == [1, 2, 3]
    rig.turn(0.2)
    assert rig.transport.sent_seqs == [1, 2, 3, 2]
    rig.send(ack(2))
    assert rig.agent.outbox_depth == 0
    rig.turn(10.0)
    assert rig.transport.sent_seqs == [1, 2, 3, 2]


def test_the_drain_sends_a_window_at_a_time() -> None:
    rig = Rig.build(outbox_window=2)
    _three_events(rig)
    assert rig.transport.sent_seqs == [1, 2]

    rig.send(ack(1, 2))
    assert rig.transport.sent_seqs == [1, 2, 3]


def test_gaps_the_server_names_are_sent_again_at_once() -> None:
    rig = Rig.build()
    _three_events(rig)

    rig.send(ack(1, missing=[(2, 3)]))

    assert rig.transport.sent_seqs == [1, 2, 3, 2, 3]
    assert sorted(rig.store.outbox) == [2, 3]


@pytest.mark.parametrize(
    "stray",
    [
        ack(1, 2, 3, epoch="fedcba9876543210"),
        ack(1, 2, 3, station_id="station-02"),
        ack(1, 4),  # 4 was never sent: the server cannot have stored it
        ack(1, missing=[(2, 9)]),
    ],
    ids=["another epoch", "another station", "ahead of what was sent", "gap ahead"],
)
def test_an_acknowledgement_not_for_this_stream_is_ignored_whole(stray: AckArrived) -> None:
    rig = Rig.build()
    _three_events(rig)

    rig.send(stray)

    assert sorted(rig.store.outbox) == [1, 2, 3]
    assert rig.transport.sent_seqs == [1, 2, 3]


def test_events_wait_for_the_link_and_go_again_after_a_reconnect() -> None:
    rig = Rig.build(connected=False)
    _three_events(rig)
    rig.turn(60.0)
    assert rig.transport.sent == []
    assert rig.agent.outbox_depth == 3

    rig.send(LinkChanged(connected=True))
    assert rig.transport.sent_seqs == [1, 2, 3]
    rig.send(LinkChanged(connected=False), LinkChanged(connected=True))
    assert rig.transport.sent_seqs == [1, 2, 3, 1, 2, 3]  # whatever was in flight goes again
