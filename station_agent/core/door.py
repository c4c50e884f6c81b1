"""The door as the agent tracks it: lock deadline, what the next opening is for, open or shut.

Pure transitions: each takes the state and the time and returns the new state and what the
lock must do. The relock deadline lives here, in the agent, so an unlock always ends even when
the network is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from protocol.payloads import Passage


class LockAction(Enum):
    UNLOCK = "unlock"
    LOCK = "lock"


@dataclass(frozen=True, slots=True)
class DoorState:
    relock_at: float | None = None  # None: locked
    expecting: Passage | None = None  # what the next opening is for
    expecting_rider: str | None = None  # who was admitted, for an entry
    is_open: bool = False

    @property
    def unlocked(self) -> bool:
        return self.relock_at is not None


@dataclass(frozen=True, slots=True)
class Step:
    state: DoorState
    actions: tuple[LockAction, ...] = ()
    passage: Passage | None = None  # set when the door has just opened
    rider_id: str | None = None  # who passed, when the agent knows


def release(
    state: DoorState,
    *,
    now: float,
    unlock_s: float,
    passage: Passage,
    rider_id: str | None = None,
) -> Step:
    """Unlock for one passage (an admitted rider, or the exit button)."""
    new = replace(state, relock_at=now + unlock_s, expecting=passage, expecting_rider=rider_id)
    return Step(new, () if state.unlocked else (LockAction.UNLOCK,))


def door_changed(state: DoorState, *, is_open: bool, now: float) -> Step:
    if is_open == state.is_open:
        return Step(state)  # a repeated report of the same contact state
    if is_open:
        passage = state.expecting or Passage.UNKNOWN
        opened = replace(state, is_open=True, expecting=None, expecting_rider=None)
        return Step(opened, passage=passage, rider_id=state.expecting_rider)
    # Closed again after a passage: relock at once rather than wait for the timer.
    if state.unlocked:
        return Step(DoorState(), (LockAction.LOCK,))
    return Step(replace(state, is_open=False))


def tick(state: DoorState, *, now: float) -> Step:
    """Relock when the unlock time is up; the door may still be open (held-open is issue #5)."""
    if state.relock_at is not None and now >= state.relock_at:
        relocked = replace(state, relock_at=None, expecting=None, expecting_rider=None)
        return Step(relocked, (LockAction.LOCK,))
    return Step(state)
