"""The station's light and message panel; a rider watches it for the outcome of a scan."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from i18n import door_message
from protocol.reasons import DoorHint, Reason


@dataclass(frozen=True, slots=True)
class Shown:
    allowed: bool
    reason: Reason
    hint: DoorHint | None = None

    @property
    def nearby(self) -> str | None:
        return self.hint.nearby if self.hint else None

    @property
    def text(self) -> str:
        return door_message(self.reason, "zh", self.hint)

    @property
    def text_en(self) -> str:
        return door_message(self.reason, "en", self.hint)


class SimDisplay:
    def __init__(self) -> None:
        self.history: list[Shown] = []
        self._changed = threading.Condition()

    def show(self, *, allowed: bool, reason: Reason, hint: DoorHint | None = None) -> None:
        with self._changed:
            self.history.append(Shown(allowed, reason, hint))
            self._changed.notify_all()

    @property
    def count(self) -> int:
        with self._changed:
            return len(self.history)

    def wait_next(self, after: int, timeout_s: float) -> Shown | None:
        """The first message shown after ``after`` messages, or None when none came in time."""
        with self._changed:
            if self._changed.wait_for(lambda: len(self.history) > after, timeout_s):
                return self.history[after]
            return None
