from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from protocol.payloads import Passage
from station_agent.core import door
from station_agent.core.door import (
    AlarmKind,
    CameraHealth,
    DoorChange,
    DoorPhase,
    DoorState,
    DoorTimings,
    LockAction,
    Step,
)

T = DoorTimings()


def _kinds(step: Step) -> list[AlarmKind]:
    return [alarm.kind for alarm in step.alarms_raised]


def _run(state: DoorState, *reports: tuple[float, bool]) -> tuple[DoorState, list[Step]]:
    steps = []
    for now, is_open in reports:
        step = door.door_changed(state, is_open=is_open, now=now)
        steps.append(step)
        state = step.state
    return state, steps


# -- forced open ----------------------------------------------------------------------------
def test_forced_open_raises_one_alarm_until_the_door_closes() -> None:
    opened = door.door_changed(DoorState(), is_open=True, now=10)
    assert opened.passage is Passage.UNKNOWN
    assert _kinds(opened) == [AlarmKind.FORCED_OPEN]
    assert opened.state.phase is DoorPhase.FORCED_OPEN
    # Bounces while it stands open, a long wait, ticks: no second alarm, no held-open on top.
    state, steps = _run(opened.state, (10.1, False), (10.15, True), (10.2, False), (10.25, True))
    later = door.tick(state, now=500)
    assert all(_kinds(s) == [] for s in [*steps, later])
    closed = door.door_changed(later.state, is_open=False, now=501)
    assert closed.alarms_cleared == (AlarmKind.FORCED_OPEN,)
    assert closed.state == DoorState()
    again = door.door_changed(closed.state, is_open=True, now=600)
    assert _kinds(again) == [AlarmKind.FORCED_OPEN]  # a new forced opening, a new alarm


def test_exit_button_opening_is_not_forced() -> None:
    pressed = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.EXIT)
    opened = door.door_changed(pressed.state, is_open=True, now=1)
    assert (opened.passage, _kinds(opened)) == (Passage.EXIT, [])


def test_opening_after_the_unlock_ran_out_is_forced() -> None:
    released = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY)
    late = door.door_changed(released.state, is_open=True, now=5)
    assert late.actions == (LockAction.LOCK,)  # the timer is run first, even without a tick
    assert (late.passage, _kinds(late)) == (Passage.UNKNOWN, [AlarmKind.FORCED_OPEN])


def test_relock_ends_an_unlock_at_once_and_the_next_opening_is_forced() -> None:
    released = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY)
    locked = door.relock(released.state, now=1)
    assert locked.actions == (LockAction.LOCK,)
    assert _kinds(door.door_changed(locked.state, is_open=True, now=2)) == [AlarmKind.FORCED_OPEN]
    assert door.relock(DoorState(), now=1).actions == ()


# -- held open ------------------------------------------------------------------------------
def test_held_open_alarm_after_the_time_and_cleared_on_close() -> None:
    released = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY)
    opened = door.door_changed(released.state, is_open=True, now=1)
    relocked = door.tick(opened.state, now=5)
    assert relocked.actions == (LockAction.LOCK,)  # propped door: the strike relocks anyway
    assert door.tick(relocked.state, now=60.9).alarms_raised == ()
    held = door.tick(relocked.state, now=61)
    assert held.alarms_raised == (door.Alarm(AlarmKind.HELD_OPEN, 61, "open for 60 s"),)
    assert held.state.phase is DoorPhase.HELD_OPEN
    assert door.tick(held.state, now=200).alarms_raised == ()  # raised once, not every tick
    closed = door.door_changed(held.state, is_open=False, now=201)
    assert (closed.alarms_cleared, closed.actions) == ((AlarmKind.HELD_OPEN,), ())
    assert closed.state.phase is DoorPhase.LOCKED


def test_held_open_found_late_is_raised_and_cleared_in_one_step() -> None:
    opened = door.door_changed(
        door.release(DoorState(), now=0, passage=Passage.ENTRY).state, is_open=True, now=1
    )
    closed = door.door_changed(opened.state, is_open=False, now=100)
    assert closed.alarms_raised == (door.Alarm(AlarmKind.HELD_OPEN, 61, "open for 60 s"),)
    assert closed.alarms_cleared == (AlarmKind.HELD_OPEN,)


def test_held_open_time_is_configurable() -> None:
    quick = DoorTimings(held_open_s=10)
    opened = door.door_changed(
        door.release(DoorState(), now=0, passage=Passage.EXIT).state, is_open=True, now=1
    )
    assert _kinds(door.tick(opened.state, now=11, timings=quick)) == [AlarmKind.HELD_OPEN]
    assert _kinds(door.tick(opened.state, now=11)) == []


# -- contact noise --------------------------------------------------------------------------
def test_bounce_after_a_passage_is_not_a_forced_opening() -> None:
    released = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY)
    state, steps = _run(released.state, (1, True), (2, False), (2.05, True), (2.1, False))
    assert steps[1].actions == (LockAction.LOCK,)
    assert [s.changes for s in steps[2:]] == [(), ()]
    assert [s.alarms_raised for s in steps[2:]] == [(), ()]
    settled = door.tick(state, now=3)
    assert (settled.changes, settled.alarms_raised) == ((), ())
    assert settled.state == DoorState()


def test_chatter_while_opening_is_one_opening() -> None:
    released = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY, rider_id="r")
    reports = [(1.0, True), (1.05, False), (1.1, True), (1.15, False), (1.2, True)]
    state, steps = _run(released.state, *reports)
    changes = [c for s in steps for c in s.changes] + list(door.tick(state, now=2).changes)
    assert changes == [DoorChange(True, 1.0, Passage.ENTRY, "r")]


def test_a_short_real_close_relocks_at_once_and_is_reported_once_it_holds() -> None:
    released = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY)
    state, steps = _run(released.state, (1, True), (1.1, False))
    assert (steps[1].changes, steps[1].actions) == ((), (LockAction.LOCK,))
    assert door.tick(state, now=1.35).changes == ()
    confirmed = door.tick(state, now=1.45)
    assert confirmed.changes == (DoorChange(False, 1.1),)  # reported with the time it moved
    assert confirmed.actions == ()


def test_a_bounce_while_opening_relocks_the_strike_but_is_one_opening() -> None:
    released = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY)
    state, steps = _run(released.state, (1, True), (1.1, False), (1.15, True))
    assert [s.actions for s in steps] == [(), (LockAction.LOCK,), ()]
    assert (state.is_open, state.unlocked, state.phase) == (True, False, DoorPhase.OPEN)
    closed = door.door_changed(state, is_open=False, now=9)
    assert (closed.changes, closed.actions) == ((DoorChange(False, 9),), ())


def test_an_opening_confirmed_after_the_deadline_still_belongs_to_its_release() -> None:
    forced = door.door_changed(DoorState(), is_open=True, now=0)
    admitted = door.release(forced.state, now=1, unlock_s=5, passage=Passage.ENTRY, rider_id="b")
    closed = door.door_changed(admitted.state, is_open=False, now=5.8)
    assert closed.actions == ()  # the rider admitted while it stood open is still expected
    pulled = door.door_changed(closed.state, is_open=True, now=5.9)  # right after: unsettled
    relocked = door.tick(pulled.state, now=6.0)
    assert relocked.actions == (LockAction.LOCK,)
    confirmed = door.tick(relocked.state, now=6.2)
    assert confirmed.changes == (DoorChange(True, 5.9, Passage.ENTRY, "b"),)
    assert confirmed.alarms_raised == ()


def test_no_debounce_takes_every_change_as_it_comes() -> None:
    """debounce_s=0 is the old tracker's behaviour: for a simulator whose rider opens and
    closes the door in the same instant."""
    instant = DoorTimings(debounce_s=0)
    state = door.release(DoorState(), now=0, passage=Passage.ENTRY, rider_id="a").state
    changes: list[DoorChange] = []
    for now, is_open in [(1.0, True), (1.0, False), (1.01, True), (1.01, False)]:
        if now == 1.01 and is_open:
            state = door.release(state, now=now, passage=Passage.EXIT, timings=instant).state
        step = door.door_changed(state, is_open=is_open, now=now, timings=instant)
        changes += step.changes
        state = step.state
    assert [(c.is_open, c.passage) for c in changes] == [
        (True, Passage.ENTRY),
        (False, None),
        (True, Passage.EXIT),
        (False, None),
    ]
    assert state == DoorState()


def test_a_flapping_contact_raises_one_fault_and_no_forced_alarms_then_recovers() -> None:
    timings = DoorTimings(fault_changes=6, fault_window_s=5, fault_quiet_s=60)
    state, raised = DoorState(), []
    for i in range(12):  # a change every 0.4 s: each one past the debounce, so each counts
        step = door.door_changed(state, is_open=i % 2 == 0, now=i * 0.4, timings=timings)
        raised += [(i, kind) for kind in _kinds(step)]
        state = step.state
    fault = AlarmKind.CONTACT_FAULT
    forced = AlarmKind.FORCED_OPEN
    assert raised == [(0, forced), (2, forced), (4, forced), (5, fault)]
    assert state.phase is DoorPhase.LOCKED
    quiet_from = 11 * 0.4 + 60
    assert door.tick(state, now=quiet_from - 1, timings=timings).alarms_cleared == ()
    recovered = door.tick(state, now=quiet_from, timings=timings)
    assert recovered.alarms_cleared == (fault,)
    assert _kinds(door.door_changed(recovered.state, is_open=True, now=100)) == [forced]


def test_slow_passages_never_look_like_a_faulty_contact() -> None:
    state = DoorState()
    for n in range(20):  # a passage every 3 s with a bounce on each close
        t = n * 3.0
        state = door.release(state, now=t, passage=Passage.ENTRY).state
        for dt, is_open in [(0.5, True), (1.5, False), (1.55, True), (1.6, False)]:
            step = door.door_changed(state, is_open=is_open, now=t + dt)
            assert step.alarms_raised == ()
            state = step.state


# -- tailgating and several riders ----------------------------------------------------------
def test_reopening_on_the_same_release_flags_a_second_person() -> None:
    released = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY, rider_id="a")
    state, steps = _run(released.state, (1, True), (2, False), (3, True), (4, False))
    second = steps[2]
    assert (second.passage, second.rider_id) == (Passage.ENTRY, None)
    assert second.alarms_raised == (
        door.Alarm(AlarmKind.TAILGATE, 3, "second entry on one release"),
    )
    assert AlarmKind.TAILGATE not in second.state.alarms  # a notice, nothing to clear
    assert steps[3].alarms_cleared == ()
    after = door.door_changed(state, is_open=True, now=5)  # the release's time is over
    assert (after.passage, _kinds(after)) == (Passage.UNKNOWN, [AlarmKind.FORCED_OPEN])


def test_rider_admitted_while_the_door_stands_open_keeps_the_unlock() -> None:
    first = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY, rider_id="a")
    opened = door.door_changed(first.state, is_open=True, now=1)
    second = door.release(opened.state, now=2, unlock_s=5, passage=Passage.ENTRY, rider_id="b")
    closed = door.door_changed(second.state, is_open=False, now=3)
    assert (closed.actions, closed.state.unlocked) == ((), True)
    reopened = door.door_changed(closed.state, is_open=True, now=4)
    assert (reopened.passage, reopened.rider_id, reopened.alarms_raised) == (
        Passage.ENTRY,
        "b",
        (),
    )
    assert door.door_changed(reopened.state, is_open=False, now=5).actions == (LockAction.LOCK,)


def test_release_uses_the_configured_unlock_time_unless_told() -> None:
    assert door.release(DoorState(), now=0, passage=Passage.EXIT).state.relock_at == 5
    slow = DoorTimings(unlock_s=8)
    assert door.release(DoorState(), now=0, passage=Passage.EXIT, timings=slow).state.relock_at == 8
    told = door.release(DoorState(), now=0, unlock_s=3, passage=Passage.EXIT, timings=slow)
    assert told.state.relock_at == 3


def test_a_release_renewed_after_its_deadline_without_a_tick_does_not_pulse() -> None:
    first = door.release(DoorState(), now=0, unlock_s=5, passage=Passage.ENTRY)
    renewed = door.release(first.state, now=7, unlock_s=5, passage=Passage.ENTRY)
    assert (renewed.actions, renewed.state.relock_at) == ((), 12)


# -- camera ---------------------------------------------------------------------------------
def _camera(state: DoorState, *reads: tuple[float, CameraHealth]) -> list[Step]:
    steps = []
    for now, health in reads:
        step = door.camera_status(state, health=health, now=now)
        steps.append(step)
        state = step.state
    return steps


def test_camera_trouble_that_lasts_raises_tamper_once_and_good_frames_clear_it() -> None:
    steps = _camera(
        DoorState(),
        (0, CameraHealth.BLANK),
        (29.9, CameraHealth.COVERED),
        (30, CameraHealth.COVERED),
        (45, CameraHealth.MISSING),
        (50, CameraHealth.OK),
        (51, CameraHealth.OK),
    )
    assert [_kinds(s) for s in steps] == [[], [], [AlarmKind.CAMERA_TAMPER], [], [], []]
    assert steps[2].alarms_raised[0].detail == "camera covered for 30 s"
    assert [s.alarms_cleared for s in steps] == [(), (), (), (), (AlarmKind.CAMERA_TAMPER,), ()]


def test_camera_tamper_is_raised_by_the_tick_when_no_frame_comes() -> None:
    blank = door.camera_status(DoorState(), health=CameraHealth.MISSING, now=0)
    assert _kinds(door.tick(blank.state, now=30)) == [AlarmKind.CAMERA_TAMPER]


def test_short_camera_trouble_raises_nothing() -> None:
    steps = _camera(
        DoorState(), (0, CameraHealth.COVERED), (20, CameraHealth.OK), (40, CameraHealth.BLANK)
    )
    assert all(s.alarms_raised == () for s in steps)
    assert door.tick(steps[-1].state, now=69.9).alarms_raised == ()
    assert _kinds(door.tick(steps[-1].state, now=70)) == [AlarmKind.CAMERA_TAMPER]


def test_door_at_rest_ignores_its_contact_history_in_equality() -> None:
    _, steps = _run(door.release(DoorState(), now=0, passage=Passage.ENTRY).state, (1, True))
    rest = door.door_changed(steps[0].state, is_open=False, now=2).state
    assert rest == DoorState()
    assert rest.recent.raw_changed_at == 2  # kept: a bounce now is still recognised
    assert replace(rest, camera=CameraHealth.BLANK) != DoorState()


# -- properties -----------------------------------------------------------------------------
UNLOCK_S = 5.0
# The model below changes the contact no faster than the debounce, so every change is real and
# the door's answers can be predicted exactly; a faulty contact is tested above, not here.
QUIET = DoorTimings(unlock_s=UNLOCK_S, fault_changes=1_000_000)
CONCERNS_DOOR = {AlarmKind.FORCED_OPEN, AlarmKind.HELD_OPEN}


class DoorModel(RuleBasedStateMachine):
    """Drives the machine with releases, contact changes, camera reads and the passing of time
    and checks each answer against a plain model of what should happen."""

    def __init__(self) -> None:
        super().__init__()
        self.state = DoorState()
        self.now = 0.0
        self.strike_released = False  # what the lock was told, action by action
        self.release_at: float | None = None
        self.release_passage = Passage.UNKNOWN
        self.release_rider: str | None = None
        self.release_used = False
        self.passage_done = False  # the door has opened for the release and closed again
        self.contact_open = False
        self.contact_moved_at = -1.0
        self.opened_at = 0.0
        self.forced = False
        self.camera_bad_since: float | None = None

    def _apply(self, step: Step, *, contact_changed: bool = False) -> None:
        before = self.state
        for action in step.actions:
            self.strike_released = action is LockAction.UNLOCK
        for alarm in step.alarms_raised:
            assert alarm.kind not in before.alarms, "an active alarm is never raised again"
        raised = {alarm.kind for alarm in step.alarms_raised}
        assert set(step.alarms_cleared) <= before.alarms | raised
        if not contact_changed:
            assert step.changes == ()
            assert not raised & {AlarmKind.FORCED_OPEN, AlarmKind.TAILGATE}
        self.state = step.state

    @rule(dt=st.sampled_from([0.3, 1.0, 4.9, 5.0, 29.9, 30.0, 60.0, 61.0]) | st.floats(0, 100))
    def wait(self, dt: float) -> None:
        self.now += dt
        self._apply(door.tick(self.state, now=self.now, timings=QUIET))

    @rule(
        passage=st.sampled_from([Passage.ENTRY, Passage.EXIT]), rider=st.sampled_from([None, "r"])
    )
    def release(self, passage: Passage, rider: str | None) -> None:
        step = door.release(
            self.state, now=self.now, passage=passage, rider_id=rider, timings=QUIET
        )
        self._apply(step)
        self.release_at, self.release_passage, self.release_rider = self.now, passage, rider
        self.release_used = self.passage_done = False

    @rule(gap=st.sampled_from([0.0, 0.5, 1.0, 2.0]))
    def contact(self, gap: float) -> None:
        # Never sooner than the debounce time after the last change: each change is real.
        self.now = max(self.now + gap, self.contact_moved_at + QUIET.debounce_s + 1e-6)
        before = self.state
        self.contact_open = not self.contact_open
        self.contact_moved_at = self.now
        step = door.door_changed(self.state, is_open=self.contact_open, now=self.now, timings=QUIET)
        self._apply(step, contact_changed=True)
        kinds = [alarm.kind for alarm in step.alarms_raised]
        if not self.contact_open:
            self.passage_done = self.release_used
            assert step.changes == (DoorChange(False, self.now),)
            raised = {alarm.kind for alarm in step.alarms_raised}  # held-open found late
            assert set(step.alarms_cleared) == (before.alarms | raised) & CONCERNS_DOOR
            assert not step.state.alarms & CONCERNS_DOOR  # held-open ends when it closes
            return
        self.opened_at = self.now
        covered = self.release_at is not None and self.now < self.release_at + UNLOCK_S
        self.forced = not covered
        if self.forced:
            expected = DoorChange(True, self.now, Passage.UNKNOWN)
            assert kinds.count(AlarmKind.FORCED_OPEN) == 1  # exactly one per forced opening
        elif not self.release_used:
            expected = DoorChange(True, self.now, self.release_passage, self.release_rider)
            assert AlarmKind.FORCED_OPEN not in kinds
        else:
            expected = DoorChange(True, self.now, self.release_passage)
            assert AlarmKind.TAILGATE in kinds
            assert AlarmKind.FORCED_OPEN not in kinds
        assert step.changes == (expected,)
        self.release_used = self.release_used or covered

    @rule(health=st.sampled_from(CameraHealth))
    def camera(self, health: CameraHealth) -> None:
        self._apply(door.camera_status(self.state, health=health, now=self.now, timings=QUIET))
        if health is CameraHealth.OK:
            self.camera_bad_since = None
        elif self.camera_bad_since is None:
            self.camera_bad_since = self.now

    @invariant()
    def the_lock_is_what_it_was_told(self) -> None:
        assert self.strike_released == self.state.unlocked

    @invariant()
    def unlocked_from_a_release_until_its_passage_is_done_or_its_time_is_up(self) -> None:
        in_time = self.release_at is not None and self.now < self.release_at + UNLOCK_S
        assert self.state.unlocked == (in_time and not self.passage_done)
        if self.state.unlocked:
            assert self.state.relock_at == self.release_at + UNLOCK_S  # type: ignore[operator]

    @invariant()
    def the_door_is_where_the_contact_says(self) -> None:
        assert self.state.is_open == self.contact_open
        assert (AlarmKind.FORCED_OPEN in self.state.alarms) == (self.contact_open and self.forced)

    @invariant()
    def held_open_exactly_when_open_too_long_after_a_passage(self) -> None:
        expected = (
            self.contact_open and not self.forced and self.now >= self.opened_at + QUIET.held_open_s
        )
        assert (AlarmKind.HELD_OPEN in self.state.alarms) == expected

    @invariant()
    def camera_tamper_exactly_when_trouble_lasted(self) -> None:
        since = self.camera_bad_since
        expected = since is not None and self.now >= since + QUIET.camera_trouble_s
        assert (AlarmKind.CAMERA_TAMPER in self.state.alarms) == expected


DoorModel.TestCase.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
TestDoorModel = DoorModel.TestCase


_NOISY = st.lists(
    st.tuples(st.floats(0, 0.6), st.sampled_from(["open", "close", "tick", "release"])),
    max_size=60,
)


@given(_NOISY)
def test_a_noisy_contact_settles_to_the_truth_and_unlocks_still_end(
    events: list[tuple[float, str]],
) -> None:
    """Whatever the contact does: the lock ends up locked in time, the door state settles on
    the contact's, and a change counts only if the contact was steady for the debounce time
    before it or after it."""
    state, now, strike_released, contact_open = DoorState(), 0.0, False, False
    last_release: float | None = None
    raw: list[tuple[float, bool]] = []  # the contact's own changes
    changes: list[DoorChange] = []
    forced_alarms = 0
    for dt, what in events:
        now += dt
        if what == "release":
            step, last_release = door.release(state, now=now, passage=Passage.ENTRY), now
        elif what == "tick":
            step = door.tick(state, now=now)
        else:
            if (what == "open") != contact_open:
                contact_open = not contact_open
                raw.append((now, contact_open))
            step = door.door_changed(state, is_open=contact_open, now=now)
        for action in step.actions:
            strike_released = action is LockAction.UNLOCK
        assert strike_released == step.state.unlocked
        if step.state.unlocked:
            assert last_release is not None
            assert now < last_release + T.unlock_s
        changes += step.changes
        forced_alarms += _kinds(step).count(AlarmKind.FORCED_OPEN)
        state = step.state
    settled = door.tick(state, now=now + T.debounce_s + 0.01)
    changes += settled.changes
    assert settled.state.is_open == contact_open
    assert [c.is_open for c in changes] == [i % 2 == 0 for i in range(len(changes))]
    assert [c.at for c in changes] == sorted(c.at for c in changes)
    assert forced_alarms <= sum(c.is_open for c in changes)
    times = [-1e9] + [at for at, _ in raw] + [1e9]
    for change in changes:
        steady = [
            times[i] - times[i - 1] >= T.debounce_s - 1e-9
            or times[i + 1] - times[i] >= T.debounce_s - 1e-9
            for i, (at, is_open) in enumerate(raw, start=1)
            if (at, is_open) == (change.at, change.is_open)
        ]
        assert any(steady), f"{change} was a bounce"


def test_riders_streaming_out_on_the_exit_button_are_not_a_contact_fault() -> None:
    """Ten people leaving one after another, each pressing the button: busy, not broken."""
    state = DoorState()
    for n in range(10):
        t = n * 0.8
        state = door.release(state, now=t, passage=Passage.EXIT).state
        for dt, is_open in [(0.05, True), (0.45, False)]:
            step = door.door_changed(state, is_open=is_open, now=t + dt)
            assert AlarmKind.CONTACT_FAULT not in [a.kind for a in step.alarms_raised]
            state = step.state
