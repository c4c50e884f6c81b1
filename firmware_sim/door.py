"""The door leaf and its contact. From outside it opens only while the strike is released;
from inside it always opens (free egress is mechanical, fire code)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from firmware_sim._observers import Observers
from firmware_sim.lock import SimLock


class SimDoor:
    def __init__(self, lock: SimLock) -> None:
        self._lock = lock
        self._is_open = False
        self._guard = threading.Lock()
        self._contact: Observers[[bool]] = Observers()
        self.changed_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self._is_open

    def subscribe(self, callback: Callable[[bool], None]) -> None:
        self._contact.add(callback)

    def open(self, *, from_inside: bool = False) -> bool:
        with self._guard:
            if self._is_open:
                return True
            if not from_inside and not self._lock.unlocked:
                return False
            self._is_open = True
            self.changed_at = time.monotonic()
        self._contact.notify(True)
        return True

    def close(self) -> None:
        with self._guard:
            if not self._is_open:
                return
            self._is_open = False
            self.changed_at = time.monotonic()
        self._contact.notify(False)
