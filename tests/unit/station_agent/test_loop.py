"""The agent's loop itself: hardware reports become door events, and a clean stop records what
is queued, relocks, gives the outbox its moment and says goodbye."""

from __future__ import annotations

import pytest

from protocol.payloads import EventKind, Passage, StationEvent
from station_agent.inbox import LinkChanged
from tests.unit.station_agent.rig import Rig, ack, token


def test_leaving_by_the_exit_button_is_recorded_as_an_exit() -> None:
    rig = Rig.build()
    rig.exit_button.press()
    rig.turn()
    assert rig.lock.unlocked

    rig.clock.advance(1.0)
    rig.door.open(from_inside=True)
    rig.turn()
    rig.clock.advance(2.0)
    rig.door.close()
    rig.turn()
    assert not rig.lock.unlocked  # a close relocks at once
    rig.turn(rig.settings.door_debounce_s + 0.1)

    assert rig.kinds() == [EventKind.EXIT_PRESSED, EventKind.DOOR_OPENED, EventKind.DOOR_CLOSED]
    opened = rig.events(EventKind.DOOR_OPENED)[0]
    assert (opened.passage, opened.rider_id) == (Passage.EXIT, None)


def test_a_door_opened_without_a_release_raises_an_alarm() -> None:
    rig = Rig.build()
    rig.lock.unlock()  # a jammed strike: the agent did not release it
    rig.door.open()
    rig.turn()

    [alarm] = rig.events(EventKind.ALARM_RAISED)
    assert alarm.alarm == "forced_open"


def test_a_frame_is_read_once_per_frame_interval() -> None:
    rig = Rig.build(frame_interval_s=0.5, scan_cooldown_s=0)
    rig.decoder.showing = ["junk"]
    rig.turn(0.2)
    rig.turn(0.2)
    assert rig.shown == []
    rig.turn(0.1)
    assert len(rig.shown) == 1


def test_a_new_frame_is_read_at_once_not_at_the_next_poll() -> None:
    rig = Rig.build(frame_interval_s=0.5, scan_cooldown_s=0)
    rig.decoder.showing = ["junk"]
    rig.turn(0.1)
    assert rig.shown == []  # the poll is not due

    rig.camera.new_frame()
    rig.turn(0.0)
    assert len(rig.shown) == 1


def test_several_new_frames_while_busy_are_one_read() -> None:
    rig = Rig.build(frame_interval_s=0.5)
    before = rig.decoder.frames
    for _ in range(3):
        rig.camera.new_frame()
    rig.turn(0.0)
    assert rig.decoder.frames == before + 1


def test_a_frame_already_decoded_is_not_decoded_again() -> None:
    rig = Rig.build(frame_interval_s=0.5)
    rig.camera.stuck = True
    rig.turn(0.5)
    decoded = rig.decoder.frames
    rig.turn(0.5)  # the poll finds the same frame: the camera has nothing new
    rig.turn(0.5)
    assert rig.decoder.frames == decoded

    rig.camera.new_frame()
    rig.turn(0.0)
    assert rig.decoder.frames == decoded + 1


def test_the_loop_wakes_when_a_rider_has_waited_long_enough_for_the_server() -> None:
    """Not at the next camera poll: a slow poll must not make a rider wait longer."""
    rig = Rig.build(frame_interval_s=5.0, decision_timeout_s=0.6)
    assert rig.agent.next_wake() > rig.clock.now + 0.6
    text, _ = token()
    rig.scan(text)
    assert rig.transport.requests
    assert rig.agent.next_wake() == pytest.approx(rig.clock.now + 0.6)


def test_a_clean_stop_records_what_is_queued_and_lets_the_outbox_empty() -> None:
    rig = Rig.build()

    def server(event: StationEvent) -> None:  # acknowledges every event it gets at once
        rig.inbox.put(ack(event.seq))

    rig.transport.on_event = server
    rig.exit_button.press()  # pressed as the agent is told to stop
    rig.agent.stopping.set()
    rig.agent.run()

    assert [event.kind for event in rig.transport.sent] == [EventKind.EXIT_PRESSED]
    assert rig.agent.final_outbox_depth == 0
    assert not rig.lock.unlocked
    assert rig.transport.states == [False]  # the goodbye
    assert not rig.transport.running
    assert rig.store.closed


def test_what_cannot_be_sent_at_a_stop_stays_for_the_next_start() -> None:
    rig = Rig.build()
    rig.scan("junk-1")
    rig.send(LinkChanged(connected=False))
    rig.exit_button.press()
    rig.agent.stopping.set()
    rig.agent.run()

    assert rig.agent.final_outbox_depth == 2
    assert rig.store.pending() != []
    assert rig.transport.states == [False]
