"""The door as the agent runs it: feeds the pure machine of ``core/door.py`` (releases, contact
reports, camera health, the time), moves the lock as each ``Step`` says, and records in the
outbox what the door did and which alarms began or ended."""

from __future__ import annotations

from protocol.payloads import EventKind, Passage
from station_agent.core import door
from station_agent.core.door import CameraHealth, DoorState, DoorTimings
from station_agent.outbox import OutboxSender
from station_agent.ports import Clock, Lock


class Doorway:
    def __init__(
        self, lock: Lock, outbox: OutboxSender, timings: DoorTimings, clock: Clock
    ) -> None:
        self._lock = lock
        self._outbox = outbox
        self._timings = timings
        self._clock = clock
        self._door = DoorState()

    @property
    def state(self) -> DoorState:
        return self._door

    def release(self, passage: Passage, now: float, rider_id: str | None = None) -> None:
        """An admitted rider (entry), the exit button (exit) or a remote unlock (entry)."""
        self._apply(
            door.release(
                self._door, now=now, passage=passage, rider_id=rider_id, timings=self._timings
            )
        )

    def relock(self, now: float) -> None:
        """End an unlock at once (a lockdown)."""
        self._apply(door.relock(self._door, now=now, timings=self._timings))

    def contact(self, is_open: bool, at: float) -> None:
        """A raw report of the door contact, with the time it was read."""
        self._apply(door.door_changed(self._door, is_open=is_open, now=at, timings=self._timings))

    def camera(self, health: CameraHealth, now: float) -> None:
        self._apply(door.camera_status(self._door, health=health, now=now, timings=self._timings))

    def tick(self, now: float) -> None:
        """Timers: relock, held open, debounce, camera trouble."""
        self._apply(door.tick(self._door, now=now, timings=self._timings))

    def _apply(self, step: door.Step) -> None:
        """Whatever call produced the step: move the lock, record what the door did and which
        alarms began or ended."""
        self._door = step.state
        for action in step.actions:
            if action is door.LockAction.UNLOCK:
                self._lock.unlock()
            else:
                self._lock.lock()
        for change in step.changes:
            if change.is_open:
                self._outbox.emit(
                    EventKind.DOOR_OPENED,
                    change.at,
                    passage=change.passage,
                    rider_id=change.rider_id,
                )
            else:
                self._outbox.emit(EventKind.DOOR_CLOSED, change.at)
        for alarm in step.alarms_raised:
            self._outbox.emit(
                EventKind.ALARM_RAISED,
                alarm.at,
                alarm=alarm.kind.value,
                detail=alarm.detail or None,
            )
        for kind in step.alarms_cleared:
            self._outbox.emit(EventKind.ALARM_CLEARED, self._clock(), alarm=kind.value)
