"""The GPIO adapters on gpiozero's MockFactory: the real adapter code, pins driven by the test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from protocol.payloads import LockType
from protocol.reasons import Reason
from station_agent.adapters.gpio import (
    AbsentDoorSensor,
    AbsentExitButton,
    AbsentLock,
    GpioDoorSensor,
    GpioExitButton,
    GpioLock,
    GpioSignal,
)
from station_agent.adapters.hardware import Displays, build_hardware, close_hardware
from station_agent.config import AgentSettings
from station_agent.hardware_settings import HardwareSettings
from tests.unit.station_agent.rig import IDENTITY

LOCK, DOOR, EXIT, BUZZER = 18, 17, 27, 22


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.close()


def _relay(pins: MockFactory) -> bool:
    return bool(pins.pin(LOCK).state)


def test_a_strike_is_energised_only_while_unlocked(pins: MockFactory) -> None:
    lock = GpioLock(LOCK, lock_type=LockType.FAIL_SECURE, pin_factory=pins)
    assert not _relay(pins)  # locked from the start: no power, the strike holds
    lock.unlock()
    assert _relay(pins)
    lock.lock()
    assert not _relay(pins)
    lock.close()


def test_a_maglock_is_energised_to_hold_and_released_to_unlock(pins: MockFactory) -> None:
    lock = GpioLock(LOCK, lock_type=LockType.FAIL_SAFE, pin_factory=pins)
    assert _relay(pins)  # holding from the start
    lock.unlock()
    assert not _relay(pins)
    lock.lock()
    assert _relay(pins)
    lock.close()
    assert pins.pin(LOCK).function == "input"  # let go: without power the maglock releases


def test_an_active_low_relay_board_gets_the_inverted_level(pins: MockFactory) -> None:
    lock = GpioLock(LOCK, lock_type=LockType.FAIL_SECURE, active_high=False, pin_factory=pins)
    assert _relay(pins)  # high = relay off on these boards
    lock.unlock()
    assert not _relay(pins)
    lock.close()


def test_the_contact_reports_every_change_unfiltered(pins: MockFactory) -> None:
    door = GpioDoorSensor(DOOR, pin_factory=pins)
    pins.pin(DOOR).drive_low()  # reed closed: the pin is pulled to ground
    seen: list[bool] = []
    door.subscribe(seen.append)
    assert seen == []  # closed at the start: nothing to say
    contact = pins.pin(DOOR)
    for level in (True, False, True, False):  # a bounce, too fast for a door: still reported
        contact.drive_high() if level else contact.drive_low()
    assert seen == [True, False, True, False]
    door.close()


def test_a_door_open_at_the_start_is_reported_at_once(pins: MockFactory) -> None:
    door = GpioDoorSensor(DOOR, pin_factory=pins)  # pulled up, nothing pulls it down: open
    seen: list[bool] = []
    door.subscribe(seen.append)
    assert seen == [True]
    door.close()


def test_a_contact_wired_the_other_way(pins: MockFactory) -> None:
    door = GpioDoorSensor(DOOR, pull_up=None, open_high=False, pin_factory=pins)
    seen: list[bool] = []
    door.subscribe(seen.append)
    assert seen == [True]  # floating input, low: open on this wiring
    pins.pin(DOOR).drive_high()
    pins.pin(DOOR).drive_low()
    assert seen == [True, False, True]
    assert door.is_open
    door.close()


def test_the_exit_button_reports_each_press_once(pins: MockFactory) -> None:
    button = GpioExitButton(EXIT, pin_factory=pins)  # to ground, pulled up
    presses: list[None] = []
    button.subscribe(lambda: presses.append(None))
    pin = pins.pin(EXIT)
    for _ in range(2):
        pin.drive_low()  # pressed
        pin.drive_high()  # released: no second call
    assert len(presses) == 2
    button.close()


def _pulses(pins: MockFactory, pin: int, n: int) -> list[bool]:
    states = pins.pin(pin).states
    deadline = time.monotonic() + 2
    while len(states) < 1 + 2 * n and time.monotonic() < deadline:
        time.sleep(0.02)
    return [s.state for s in states]


@pytest.mark.parametrize(("allowed", "beeps"), [(True, 1), (False, 2)])
def test_the_buzzer_beeps_once_for_welcome_twice_for_refusal(
    pins: MockFactory, allowed: bool, beeps: int
) -> None:
    buzzer = GpioSignal(BUZZER, pin_factory=pins)
    pins.pin(BUZZER).clear_states()
    started = time.monotonic()
    buzzer.show(allowed=allowed, reason=Reason.GRANTED if allowed else Reason.EXPIRED)
    assert time.monotonic() - started < 0.05  # the pattern plays in gpiozero's thread
    assert _pulses(pins, BUZZER, beeps) == [False] + [True, False] * beeps
    buzzer.close()


@pytest.fixture
def default_pins() -> Iterator[MockFactory]:
    """What build_hardware uses: gpiozero's default factory (GPIOZERO_PIN_FACTORY in a real
    process)."""
    saved = Device.pin_factory
    Device.pin_factory = MockFactory()
    yield Device.pin_factory
    Device.pin_factory.close()
    Device.pin_factory = saved


def _settings(**hardware: object) -> AgentSettings:
    return AgentSettings(
        station_id="station-hw",
        hardware=HardwareSettings.model_validate({"display_port": None, **hardware}),
        **IDENTITY,
    )


def test_unset_pins_are_absent_parts(default_pins: MockFactory) -> None:
    hardware = build_hardware(_settings(camera_source="/nonexistent/camera.avi"))
    try:
        assert isinstance(hardware.lock, AbsentLock)
        assert isinstance(hardware.door, AbsentDoorSensor)
        assert isinstance(hardware.exit_button, AbsentExitButton)
        assert isinstance(hardware.display, Displays)
        assert hardware.display.displays == ()
        hardware.lock.unlock()  # a no-op that says so, not a crash
        assert default_pins.pins == {}  # no pin was asked for
    finally:
        close_hardware(hardware)


def test_build_hardware_wires_the_pins_it_is_given(default_pins: MockFactory) -> None:
    settings = _settings(
        camera_source="/nonexistent/camera.avi",
        lock_pin=LOCK,
        door_pin=DOOR,
        exit_pin=EXIT,
        buzzer_pin=BUZZER,
    )
    hardware = build_hardware(settings)
    try:
        default_pins.pin(DOOR).drive_low()
        opened: list[bool] = []
        hardware.door.subscribe(opened.append)
        hardware.lock.unlock()
        assert default_pins.pin(LOCK).state  # the default lock type: fail-secure strike
        default_pins.pin(DOOR).drive_high()
        assert opened == [True]
        hardware.display.show(allowed=True, reason=Reason.GRANTED)
        assert _pulses(default_pins, BUZZER, 1)[-2:] == [True, False]
    finally:
        close_hardware(hardware)
