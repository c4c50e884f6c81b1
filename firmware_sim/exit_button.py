"""The request-to-exit button inside the station."""

from __future__ import annotations

from collections.abc import Callable

from firmware_sim._observers import Observers


class SimExitButton:
    def __init__(self) -> None:
        self._pressed: Observers[[]] = Observers()
        self.press_count = 0

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._pressed.add(callback)

    def press(self) -> None:
        self.press_count += 1
        self._pressed.notify()
