from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol.payloads import Passage
from station_agent.core import door
from station_agent.core.door import DoorState, LockAction


def test_admitted_rider_walks_in_and_door_relocks_on_close() -> None:
    step = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY, rider_id="r-1")
    assert step.actions == (LockAction.UNLOCK,)
    opened = door.door_changed(step.state, is_open=True, now=1)
    assert (opened.passage, opened.rider_id, opened.actions) == (Passage.ENTRY, "r-1", ())
    closed = door.door_changed(opened.state, is_open=False, now=2)
    assert closed.actions == (LockAction.LOCK,)
    assert closed.state == DoorState()


def test_unlock_ends_when_nobody_opens_the_door() -> None:
    step = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY)
    assert door.tick(step.state, now=4.9).actions == ()
    relocked = door.tick(step.state, now=5)
    assert relocked.actions == (LockAction.LOCK,)
    assert not relocked.state.unlocked
    assert relocked.state.expecting is None  # a later opening is no longer this rider's entry


def test_exit_button_marks_the_next_opening_as_exit() -> None:
    step = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.EXIT)
    assert door.door_changed(step.state, is_open=True, now=1).passage is Passage.EXIT


def test_opening_without_release_is_unknown() -> None:
    assert door.door_changed(DoorState(), is_open=True, now=0).passage is Passage.UNKNOWN


def test_repeated_contact_report_changes_nothing() -> None:
    state = DoorState(is_open=True)
    assert door.door_changed(state, is_open=True, now=0) == door.Step(state)


def test_second_release_while_unlocked_does_not_pulse_again() -> None:
    first = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY)
    second = door.release(first.state, now=1, unlock_s=5, passage=Passage.EXIT)
    assert second.actions == ()
    assert second.state.relock_at == 6


_EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("release"), st.sampled_from([Passage.ENTRY, Passage.EXIT])),
        st.tuples(st.just("door"), st.booleans()),
        st.tuples(st.just("tick"), st.none()),
    ),
    max_size=40,
)


@given(_EVENTS, st.lists(st.floats(0, 3), min_size=40, max_size=40))
def test_every_unlock_ends_within_the_unlock_time(
    events: list[tuple[str, object]], gaps: list[float]
) -> None:
    """Whatever happens, a tick at relock_at relocks, and relock_at never lies past now + 5 s."""
    state, now, locked = DoorState(), 0.0, True
    for (what, arg), gap in zip(events, gaps, strict=False):
        now += gap
        if what == "release":
            step = door.release(state, now=now, unlock_s=5, passage=arg)  # type: ignore[arg-type]
        elif what == "door":
            step = door.door_changed(state, is_open=bool(arg), now=now)
        else:
            step = door.tick(state, now=now)
        for action in step.actions:
            locked = action is LockAction.LOCK
        state = step.state
        assert locked == (not state.unlocked)
        if state.relock_at is not None:
            assert state.relock_at <= now + 5
    if state.relock_at is not None:
        assert door.tick(state, now=state.relock_at).actions == (LockAction.LOCK,)
