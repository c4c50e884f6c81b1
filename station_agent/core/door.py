"""The door as the agent tracks it: lock, leaf, contact noise, camera, alarms.

A pure state machine: each call takes the state and the time and returns a ``Step`` (the new
state, what the lock must do, what the door did, which alarms began or ended). The relock
deadline lives here, in the agent, so an unlock always ends even when the network is gone:
every call first runs the timers that are due, so a late tick delays nothing but the moment a
relock is noticed, and the lock is never left released past ``relock_at``.

How the agent feeds it (one thread owns the state; hardware callbacks only queue inputs):

- ``release(...)`` when the server admits a rider (``Passage.ENTRY`` with the rider id), when
  the exit button is pressed (``Passage.EXIT``) and for a staff remote unlock (``ENTRY``, no
  rider);
- ``door_changed(...)`` for every raw contact report, with the time it was read: debouncing and
  flapping are handled here, so do not filter the contact before;
- ``camera_status(...)`` for every camera read: ``OK``, ``BLANK``, ``COVERED``, or ``MISSING``
  when the read returned no frame;
- ``relock(...)`` to end an unlock at once (a lockdown command);
- ``tick(...)`` on every turn of the loop: timers (relock, held open, debounce, camera) fire
  from it when nothing else happens.

A close relocks at once, before the debounce confirms it (locking early is the safe side);
its ``door_closed`` comes with the confirmation.

Handle every ``Step`` the same way, whichever call produced it: perform ``actions`` on the lock
in order, emit ``door_opened``/``door_closed`` for each of ``changes`` (each with its own time
and, for an opening, its passage and rider), and report ``alarms_raised``/``alarms_cleared``.
Do not compare states to find out whether something happened: a debounced report changes the
state without any event, and ``DoorState`` equality leaves out the contact's recent past.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum, IntEnum, StrEnum

from protocol.details import Shape, write
from protocol.payloads import Passage


class LockAction(Enum):
    UNLOCK = "unlock"
    LOCK = "lock"


class AlarmKind(StrEnum):
    FORCED_OPEN = "forced_open"  # opened with no unlock and no exit button; ends when it closes
    HELD_OPEN = "held_open"  # open longer than held_open_s after a passage; ends when it closes
    CONTACT_FAULT = "contact_fault"  # the contact changes too often to be a door
    CAMERA_TAMPER = "camera_tamper"  # blank, covered or no frames for camera_trouble_s
    TAILGATE = "tailgate"  # a notice, never active: closed and reopened on one release


class CameraHealth(StrEnum):
    OK = "ok"
    BLANK = "blank"
    COVERED = "covered"
    MISSING = "missing"  # the read returned no frame


class DoorPhase(StrEnum):
    """One word for the staff view."""

    LOCKED = "locked"
    UNLOCKED = "unlocked"
    OPEN = "open"
    HELD_OPEN = "held_open"
    FORCED_OPEN = "forced_open"


@dataclass(frozen=True, slots=True)
class DoorTimings:
    unlock_s: float = 5.0  # when release() is not told otherwise
    held_open_s: float = 60.0
    debounce_s: float = 0.3  # changes closer together are one opening, not several; 0: off
    fault_changes: int = 10  # this many raw contact changes ...
    fault_window_s: float = 5.0  # ... within this window: the contact is faulty
    fault_quiet_s: float = 60.0  # trusted again after this long without a change
    camera_trouble_s: float = 30.0


DEFAULT_TIMINGS = DoorTimings()


@dataclass(frozen=True, slots=True)
class Alarm:
    kind: AlarmKind
    at: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DoorChange:
    """The door opened or closed (debounced). ``at`` is when the contact moved, which for a
    change confirmed later by the debounce is earlier than the call that reports it."""

    is_open: bool
    at: float
    passage: Passage | None = None  # for an opening
    rider_id: str | None = None


@dataclass(frozen=True, slots=True)
class Recent:
    """The contact's recent past: what the next report means depends on it."""

    raw_changed_at: float | None = None  # last time the raw contact moved
    raw_changes: tuple[float, ...] = ()  # raw changes inside the fault window, newest last
    # The last release: an opening before its deadline belongs to it; a second one is a
    # second person (tailgating), not a forced door.
    window_passage: Passage | None = None
    window_rider: str | None = None
    window_until: float | None = None
    window_used: bool = False


@dataclass(frozen=True, slots=True)
class DoorState:
    """Equality compares what the door is doing now, not ``recent`` (the contact's past, kept
    only to interpret the next report): a door back at rest equals ``DoorState()``."""

    relock_at: float | None = None  # None: locked
    expecting: Passage | None = None  # what the next opening is for
    expecting_rider: str | None = None  # who was admitted, for an entry
    is_open: bool = False  # debounced
    opened_at: float | None = None
    open_for: Passage | None = None  # the passage of the current opening
    unsettled_since: float | None = None  # raw contact differs from is_open since, unconfirmed
    alarms: frozenset[AlarmKind] = frozenset()  # active ones
    camera: CameraHealth = CameraHealth.OK
    camera_bad_since: float | None = None
    recent: Recent = field(default=Recent(), compare=False)

    @property
    def unlocked(self) -> bool:
        return self.relock_at is not None

    @property
    def phase(self) -> DoorPhase:
        if not self.is_open:
            return DoorPhase.UNLOCKED if self.unlocked else DoorPhase.LOCKED
        if AlarmKind.FORCED_OPEN in self.alarms:
            return DoorPhase.FORCED_OPEN
        if AlarmKind.HELD_OPEN in self.alarms:
            return DoorPhase.HELD_OPEN
        return DoorPhase.OPEN


@dataclass(frozen=True, slots=True)
class Step:
    state: DoorState
    actions: tuple[LockAction, ...] = ()
    passage: Passage | None = None  # set when the door has just opened
    rider_id: str | None = None  # who passed, when the agent knows
    changes: tuple[DoorChange, ...] = ()
    alarms_raised: tuple[Alarm, ...] = ()
    alarms_cleared: tuple[AlarmKind, ...] = ()


# -- inputs ---------------------------------------------------------------------------------
def release(
    state: DoorState,
    *,
    now: float,
    unlock_s: float | None = None,
    passage: Passage,
    rider_id: str | None = None,
    timings: DoorTimings = DEFAULT_TIMINGS,
) -> Step:
    """Unlock for one passage (an admitted rider, the exit button, a staff remote unlock)."""
    current, out = _advance(state, now, timings)
    until = now + (timings.unlock_s if unlock_s is None else unlock_s)
    window = replace(
        current.recent,
        window_passage=passage,
        window_rider=rider_id,
        window_until=until,
        window_used=False,
    )
    released = replace(
        current, relock_at=until, expecting=passage, expecting_rider=rider_id, recent=window
    )
    return _step(state, released, out)


def door_changed(
    state: DoorState, *, is_open: bool, now: float, timings: DoorTimings = DEFAULT_TIMINGS
) -> Step:
    """A raw contact report. Repeats change nothing; bounces are absorbed."""
    current, out = _advance(state, now, timings)
    raw = current.is_open != (current.unsettled_since is not None)
    if is_open == raw:
        return _step(state, current, out)
    recent = current.recent
    quiet = recent.raw_changed_at is None or now - recent.raw_changed_at >= timings.debounce_s
    kept = tuple(at for at in recent.raw_changes if now - at < timings.fault_window_s)
    # A busy door (riders streaming out on the exit button) is not a faulty contact: only
    # changes no release explains count towards a contact fault.
    explained = current.unlocked or (recent.window_until is not None and now <= recent.window_until)
    changes = kept if explained else (*kept, now)[-timings.fault_changes :]
    current = replace(current, recent=replace(recent, raw_changed_at=now, raw_changes=changes))
    if len(changes) >= timings.fault_changes and AlarmKind.CONTACT_FAULT not in current.alarms:
        detail = write(Shape.CONTACT_FAULT, changes=len(changes), seconds=timings.fault_window_s)
        current, raised = _raise(current, Alarm(AlarmKind.CONTACT_FAULT, now, detail))
        out = out + raised
    if is_open == current.is_open:
        # Back to what was accepted before the debounce confirmed the change: a bounce.
        return _step(state, replace(current, unsettled_since=None), out)
    if not quiet:
        pending = replace(current, unsettled_since=now)
        if not is_open and pending.unlocked and pending.expecting is None:
            # The lock does not wait for the debounce: relocking early is the safe side, and
            # the door latches when it closes even if this was a bounce.
            pending = replace(pending, relock_at=None)
        return _step(state, pending, out)
    current, accepted = _accept(current, now)
    return _step(state, current, out + accepted)


def camera_status(
    state: DoorState, *, health: CameraHealth, now: float, timings: DoorTimings = DEFAULT_TIMINGS
) -> Step:
    """One camera read. Trouble that lasts ``camera_trouble_s`` raises a tamper alarm, which
    ends with the next good frame."""
    current, out = _advance(state, now, timings)
    if health is CameraHealth.OK:
        current, cleared = _clear(current, AlarmKind.CAMERA_TAMPER)
        fine = replace(current, camera=CameraHealth.OK, camera_bad_since=None)
        return _step(state, fine, out + cleared)
    since = now if current.camera_bad_since is None else current.camera_bad_since
    current, late = _advance(replace(current, camera=health, camera_bad_since=since), now, timings)
    return _step(state, current, out + late)


def relock(state: DoorState, *, now: float, timings: DoorTimings = DEFAULT_TIMINGS) -> Step:
    """End any unlock at once (lockdown). An opening after this is not covered by a release."""
    current, out = _advance(state, now, timings)
    recent = replace(current.recent, window_until=None)
    locked = replace(current, relock_at=None, expecting=None, expecting_rider=None, recent=recent)
    return _step(state, locked, out)


def tick(state: DoorState, *, now: float, timings: DoorTimings = DEFAULT_TIMINGS) -> Step:
    """Run the timers that are due: relock (the door may still be open), debounce, held-open,
    contact trust, camera trouble."""
    current, out = _advance(state, now, timings)
    return _step(state, current, out)


# -- internals ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Out:
    changes: tuple[DoorChange, ...] = ()
    raised: tuple[Alarm, ...] = ()
    cleared: tuple[AlarmKind, ...] = ()

    def __add__(self, other: _Out) -> _Out:
        return _Out(
            self.changes + other.changes,
            self.raised + other.raised,
            self.cleared + other.cleared,
        )


_NOTHING = _Out()


def _step(before: DoorState, after: DoorState, out: _Out) -> Step:
    # The lock gets one command for the net change: an unlock that expired and was renewed
    # inside one call never pulses the strike.
    actions: tuple[LockAction, ...] = ()
    if before.unlocked != after.unlocked:
        actions = (LockAction.UNLOCK,) if after.unlocked else (LockAction.LOCK,)
    opening = next((c for c in reversed(out.changes) if c.is_open), None)
    return Step(
        after,
        actions,
        passage=opening.passage if opening else None,
        rider_id=opening.rider_id if opening else None,
        changes=out.changes,
        alarms_raised=out.raised,
        alarms_cleared=out.cleared,
    )


def _raise(state: DoorState, alarm: Alarm) -> tuple[DoorState, _Out]:
    if alarm.kind is AlarmKind.TAILGATE:  # a notice: nothing stays active
        return state, _Out(raised=(alarm,))
    if alarm.kind in state.alarms:
        return state, _NOTHING
    return replace(state, alarms=state.alarms | {alarm.kind}), _Out(raised=(alarm,))


def _clear(state: DoorState, kind: AlarmKind) -> tuple[DoorState, _Out]:
    if kind not in state.alarms:
        return state, _NOTHING
    return replace(state, alarms=state.alarms - {kind}), _Out(cleared=(kind,))


def _accept(state: DoorState, at: float) -> tuple[DoorState, _Out]:
    """The contact's change at ``at`` is real: the door opened or closed."""
    return _opened(state, at) if not state.is_open else _closed(state, at)


def _opened(state: DoorState, at: float) -> tuple[DoorState, _Out]:
    recent = state.recent
    alarm: Alarm | None = None
    rider: str | None = None
    if state.expecting is not None:
        passage, rider = state.expecting, state.expecting_rider
    elif recent.window_until is not None and at < recent.window_until:
        passage = recent.window_passage or Passage.UNKNOWN
        if recent.window_used:
            # Closed and reopened on one release: likely one more person the same way.
            alarm = Alarm(AlarmKind.TAILGATE, at, write(Shape.TAILGATE, passage=passage.value))
        else:
            # Opened in time, but the debounce confirmed it after the relock deadline.
            rider = recent.window_rider
    elif state.unlocked or AlarmKind.CONTACT_FAULT in state.alarms:
        # Unlocked with nothing expected, or a contact not to be trusted: no forced alarm.
        passage = Passage.UNKNOWN
    else:
        passage = Passage.UNKNOWN
        alarm = Alarm(AlarmKind.FORCED_OPEN, at, write(Shape.FORCED_OPEN))
    opened = replace(
        state,
        is_open=True,
        opened_at=at,
        open_for=passage,
        expecting=None,
        expecting_rider=None,
        recent=replace(recent, window_used=True),
    )
    out = _Out(changes=(DoorChange(True, at, passage, rider),))
    if alarm is not None:
        opened, raised = _raise(opened, alarm)
        out = out + raised
    return opened, out


def _closed(state: DoorState, at: float) -> tuple[DoorState, _Out]:
    closed = replace(state, is_open=False, opened_at=None, open_for=None)
    out = _Out(changes=(DoorChange(False, at),))
    for kind in (AlarmKind.FORCED_OPEN, AlarmKind.HELD_OPEN):
        closed, cleared = _clear(closed, kind)
        out = out + cleared
    if closed.unlocked and closed.expecting is None:
        # The passage this unlock was for is done: relock now rather than wait for the timer.
        # A rider admitted while the door stood open is still expected: the unlock stays.
        closed = replace(closed, relock_at=None)
    return closed, out


class _Timer(IntEnum):
    """Timers of the machine; at the same due time, the lower fires first."""

    SETTLE = 0  # the contact held its new reading for the debounce time
    RELOCK = 1
    HELD_OPEN = 2
    CONTACT_TRUST = 3  # quiet long enough after a contact fault
    CAMERA = 4


def _next_timer(state: DoorState, timings: DoorTimings) -> tuple[float, _Timer] | None:
    due: list[tuple[float, _Timer]] = []
    if state.unsettled_since is not None:
        due.append((state.unsettled_since + timings.debounce_s, _Timer.SETTLE))
    if state.relock_at is not None:
        due.append((state.relock_at, _Timer.RELOCK))
    if (
        state.is_open
        and state.opened_at is not None
        and not state.alarms & {AlarmKind.HELD_OPEN, AlarmKind.FORCED_OPEN}
    ):
        held_at = state.opened_at + timings.held_open_s
        # A close waiting for the debounce happened before: the door was not held that long.
        if state.unsettled_since is None or held_at < state.unsettled_since:
            due.append((held_at, _Timer.HELD_OPEN))
    if AlarmKind.CONTACT_FAULT in state.alarms and state.recent.raw_changed_at is not None:
        due.append((state.recent.raw_changed_at + timings.fault_quiet_s, _Timer.CONTACT_TRUST))
    if state.camera_bad_since is not None and AlarmKind.CAMERA_TAMPER not in state.alarms:
        due.append((state.camera_bad_since + timings.camera_trouble_s, _Timer.CAMERA))
    return min(due) if due else None


def _fire(
    state: DoorState, timer: _Timer, at: float, timings: DoorTimings
) -> tuple[DoorState, _Out]:
    if timer is _Timer.SETTLE:  # a real change, reported with the time the contact moved
        moved_at = state.unsettled_since if state.unsettled_since is not None else at
        return _accept(replace(state, unsettled_since=None), moved_at)
    if timer is _Timer.RELOCK:  # the unlock time is up; the door may still be open
        return replace(state, relock_at=None, expecting=None, expecting_rider=None), _NOTHING
    if timer is _Timer.HELD_OPEN:
        detail = write(Shape.HELD_OPEN, seconds=timings.held_open_s)
        return _raise(state, Alarm(AlarmKind.HELD_OPEN, at, detail))
    if timer is _Timer.CONTACT_TRUST:
        return _clear(state, AlarmKind.CONTACT_FAULT)
    detail = write(
        Shape.CAMERA_TROUBLE, camera=state.camera.value, seconds=timings.camera_trouble_s
    )
    return _raise(state, Alarm(AlarmKind.CAMERA_TAMPER, at, detail))


def _advance(state: DoorState, now: float, timings: DoorTimings) -> tuple[DoorState, _Out]:
    """Fire every timer due by ``now``, earliest first. Each firing removes its own timer,
    so this ends (at most a few rounds)."""
    out = _NOTHING
    while (due := _next_timer(state, timings)) is not None and due[0] <= now:
        state, fired = _fire(state, due[1], due[0], timings)
        out = out + fired
    return state, out
