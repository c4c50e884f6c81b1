"""The lock relay: counts its pulses and lets a simulated rider wait for the click."""

from __future__ import annotations

import threading

from protocol.payloads import LockType


class SimLock:
    """A strike (fail-secure: stays locked without power) or a maglock (fail-safe: releases)."""

    def __init__(self, lock_type: LockType = LockType.FAIL_SECURE) -> None:
        self.lock_type = lock_type
        self._unlocked = False
        self._powered = True
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
            # Without power a maglock cannot hold, whatever the agent asks.
            self._unlocked = not self._powered and self.lock_type is LockType.FAIL_SAFE
            self._changed.notify_all()

    def power_lost(self) -> None:
        with self._changed:
            self._powered = False
            if self.lock_type is LockType.FAIL_SAFE:
                self._unlocked = True
            self._changed.notify_all()

    def power_restored(self) -> None:
        with self._changed:
            self._powered = True
            self._unlocked = False  # relay de-energised at power-up: locked until told
            self._changed.notify_all()

    def wait_unlocked(self, timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._unlocked, timeout_s)
