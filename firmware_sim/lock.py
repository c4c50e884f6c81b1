"""The lock relay: counts its pulses and lets a simulated rider wait for the click."""

from __future__ import annotations

import threading


class SimLock:
    def __init__(self) -> None:
        self._unlocked = False
        self._changed = threading.Condition()
        self.unlock_count = 0

    @property
    def unlocked(self) -> bool:
        with self._changed:
            return self._unlocked

    def unlock(self) -> None:
        with self._changed:
            if not self._unlocked:
                self.unlock_count += 1
            self._unlocked = True
            self._changed.notify_all()

    def lock(self) -> None:
        with self._changed:
            self._unlocked = False
            self._changed.notify_all()

    def wait_unlocked(self, timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._unlocked, timeout_s)
