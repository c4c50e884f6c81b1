"""The door's wired parts over gpiozero: lock relay, door contact, exit button, buzzer/LED.

gpiozero picks its pin factory from ``GPIOZERO_PIN_FACTORY`` (lgpio on a Pi; tests use
``MockFactory`` in-process or ``firmware_sim``'s file-backed factory across processes), or
each adapter is given one. Input callbacks run on gpiozero's threads: they only report the
change to the subscribers (the agent queues it). The contact is not filtered here: the door
machine (``core/door.py``) debounces it and tells a faulty contact from a busy door.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from gpiozero import DigitalInputDevice, DigitalOutputDevice  # type: ignore[import-untyped]

from protocol.payloads import LockType
from protocol.reasons import DoorHint, Reason

log = logging.getLogger(__name__)

PinFactory = Any  # a gpiozero Factory; None: gpiozero's default (GPIOZERO_PIN_FACTORY)


class GpioLock:
    """Implements Lock. A fail-secure strike opens while its relay is energised; a fail-safe
    maglock holds while energised, so losing power (or this process) releases it."""

    def __init__(
        self,
        pin: int,
        *,
        lock_type: LockType,
        active_high: bool = True,
        pin_factory: PinFactory = None,
    ) -> None:
        self._energise_to_unlock = lock_type is LockType.FAIL_SECURE
        self._relay = DigitalOutputDevice(
            pin,
            active_high=active_high,
            initial_value=not self._energise_to_unlock,  # locked from the first instant
            pin_factory=pin_factory,
        )

    @property
    def energised(self) -> bool:
        return bool(self._relay.value)

    def unlock(self) -> None:
        self._relay.value = self._energise_to_unlock

    def lock(self) -> None:
        self._relay.value = not self._energise_to_unlock

    def close(self) -> None:
        self._relay.close()


class _Input:
    """One input pin reporting its level (True: high) on every change."""

    def __init__(
        self,
        pin: int,
        *,
        pull_up: bool | None,
        bounce_s: float | None = None,
        pin_factory: PinFactory = None,
    ) -> None:
        # With a pull, gpiozero calls the level away from the pull "active"; floating, high.
        self._active_high = True if pull_up is None else not pull_up
        self._device = DigitalInputDevice(
            pin,
            pull_up=pull_up,
            active_state=True if pull_up is None else None,
            bounce_time=bounce_s or None,
            pin_factory=pin_factory,
        )
        self._callbacks: list[Callable[[bool], None]] = []
        self._guard = threading.Lock()
        self._device.when_activated = lambda: self._notify(self._active_high)
        self._device.when_deactivated = lambda: self._notify(not self._active_high)

    @property
    def high(self) -> bool:
        return bool(self._device.is_active) == self._active_high

    def subscribe(self, callback: Callable[[bool], None]) -> None:
        with self._guard:
            self._callbacks.append(callback)

    def _notify(self, high: bool) -> None:
        with self._guard:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback(high)

    def close(self) -> None:
        self._device.close()


class GpioDoorSensor:
    """Implements DoorSensor. A door already open when the agent subscribes is reported at
    once: the door machine starts from closed, and an unexplained open door is news."""

    def __init__(
        self,
        pin: int,
        *,
        pull_up: bool | None = True,
        open_high: bool = True,
        pin_factory: PinFactory = None,
    ) -> None:
        self._open_high = open_high
        self._input = _Input(pin, pull_up=pull_up, pin_factory=pin_factory)

    @property
    def is_open(self) -> bool:
        return self._input.high == self._open_high

    def subscribe(self, callback: Callable[[bool], None]) -> None:
        self._input.subscribe(lambda high: callback(high == self._open_high))
        if self.is_open:
            callback(True)

    def close(self) -> None:
        self._input.close()


class GpioExitButton:
    """Implements ExitButton: one call per press (the edge into the pressed level)."""

    def __init__(
        self,
        pin: int,
        *,
        pull_up: bool | None = True,
        pressed_high: bool = False,
        bounce_s: float | None = 0.05,
        pin_factory: PinFactory = None,
    ) -> None:
        self._pressed_high = pressed_high
        self._input = _Input(pin, pull_up=pull_up, bounce_s=bounce_s, pin_factory=pin_factory)

    def subscribe(self, callback: Callable[[], None]) -> None:
        def on_level(high: bool) -> None:
            if high == self._pressed_high:
                callback()

        self._input.subscribe(on_level)

    def close(self) -> None:
        self._input.close()


class GpioSignal:
    """Implements Display with a buzzer or an LED: one beep for a welcome, two for a refusal.
    gpiozero blinks in its own thread, so ``show`` returns at once."""

    ON_S, OFF_S = 0.15, 0.1

    def __init__(
        self, pin: int, *, active_high: bool = True, pin_factory: PinFactory = None
    ) -> None:
        self._output = DigitalOutputDevice(
            pin, active_high=active_high, initial_value=False, pin_factory=pin_factory
        )

    def show(self, *, allowed: bool, reason: Reason, hint: DoorHint | None = None) -> None:
        self._output.blink(on_time=self.ON_S, off_time=self.OFF_S, n=1 if allowed else 2)

    def close(self) -> None:
        self._output.close()


class AbsentLock:
    """No lock relay wired (a dev box): says so once, then does nothing."""

    def __init__(self) -> None:
        self._warned = False

    def unlock(self) -> None:
        if not self._warned:
            log.warning("no lock relay configured (hardware.lock_pin): the door stays as it is")
            self._warned = True

    def lock(self) -> None:
        pass


class AbsentDoorSensor:
    """No door contact: the agent never hears of the door opening."""

    def subscribe(self, callback: Callable[[bool], None]) -> None:
        pass


class AbsentExitButton:
    def subscribe(self, callback: Callable[[], None]) -> None:
        pass
