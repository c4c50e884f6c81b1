"""The station's light and message panel; a rider watches it for the outcome of a scan."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from i18n import full_message, rider_message
from protocol.reasons import Reason


@dataclass(frozen=True, slots=True)
class Shown:
    allowed: bool
    reason: Reason
    nearby: str | None = None

    @property
    def text(self) -> str:
        if self.reason is Reason.STATION_FULL:
            return full_message(self.nearby)
        return rider_message(self.reason)


class SimDisplay:
    def __init__(self) -> None:
        self.history: list[Shown] = []
        self._changed = threading.Condition()

    def show(self, *, allowed: bool, reason: Reason, nearby: str | None = None) -> None:
        with self._changed:
            self.history.append(Shown(allowed, reason, nearby))
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
