"""The real devices of a station box, assembled from ``AgentSettings.hardware``.

``python -m station_agent run`` calls ``build_hardware``; the simulator builds its own
``Hardware`` from ``firmware_sim``. GPIO parts whose pin is unset are absent (a dev box runs
with none, and gpiozero is then never asked for a pin factory).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from protocol.reasons import DoorHint, Reason
from station_agent.adapters.camera_opencv import OpenCvCamera
from station_agent.adapters.display_web import WebDisplay
from station_agent.adapters.gpio import (
    AbsentDoorSensor,
    AbsentExitButton,
    AbsentLock,
    GpioDoorSensor,
    GpioExitButton,
    GpioLock,
    GpioSignal,
)
from station_agent.config import AgentSettings
from station_agent.ports import Display, DoorSensor, ExitButton, Hardware, Lock, QrDecoder

log = logging.getLogger(__name__)


class Displays:
    """Implements Display: tells every one of them (the screen, the buzzer, the LED)."""

    def __init__(self, displays: Sequence[Display]) -> None:
        self.displays = tuple(displays)

    def show(self, *, allowed: bool, reason: Reason, hint: DoorHint | None = None) -> None:
        for display in self.displays:
            try:
                display.show(allowed=allowed, reason=reason, hint=hint)
            except Exception:  # a broken buzzer must not keep the words off the screen
                log.exception("display %r failed", display)


def default_decoder() -> QrDecoder:
    """zxing-cpp with its second looks, and zbar for a dim, small frame where they found a
    code they could not read (``bench/scanner.py``); whichever of them is installed alone."""
    try:
        from station_agent.adapters.decoder_pyzbar import PyzbarDecoder

        zbar: QrDecoder | None = PyzbarDecoder()
    except ImportError:  # pyzbar is there, but libzbar0 is not
        zbar = None
    try:
        from station_agent.adapters.decoder_zxing import ZxingDecoder
    except ImportError:
        if zbar is None:
            raise
        return zbar
    return ZxingDecoder(fallback=zbar)


def build_hardware(settings: AgentSettings, decoder: QrDecoder | None = None) -> Hardware:
    hw = settings.hardware
    lock: Lock = AbsentLock()
    if hw.lock_pin is not None:
        lock = GpioLock(hw.lock_pin, lock_type=settings.lock_type, active_high=hw.lock_active_high)
    door: DoorSensor = AbsentDoorSensor()
    if hw.door_pin is not None:
        door = GpioDoorSensor(
            hw.door_pin, pull_up=hw.door_pull.pull_up, open_high=hw.door_open_high
        )
    exit_button: ExitButton = AbsentExitButton()
    if hw.exit_pin is not None:
        exit_button = GpioExitButton(
            hw.exit_pin,
            pull_up=hw.exit_pull.pull_up,
            pressed_high=hw.exit_pressed_high,
            bounce_s=hw.exit_bounce_s,
        )
    displays: list[Display] = []
    for pin, active_high in (
        (hw.buzzer_pin, hw.buzzer_active_high),
        (hw.led_pin, hw.led_active_high),
    ):
        if pin is not None:
            displays.append(GpioSignal(pin, active_high=active_high))
    if hw.display_port is not None:  # a port in use fails here, before the camera starts
        name = hw.display_name or settings.station_id
        displays.append(WebDisplay(name, port=hw.display_port, hold_s=hw.display_hold_s))
    camera = OpenCvCamera(  # last: its reader thread starts at once
        hw.camera_source,
        width=hw.frame_width,
        height=hw.frame_height,
        stale_s=hw.camera_stale_s,
        retry_s=hw.camera_retry_s,
        retry_max_s=hw.camera_retry_max_s,
    )
    return Hardware(
        camera=camera,
        decoder=decoder or default_decoder(),
        lock=lock,
        door=door,
        exit_button=exit_button,
        display=Displays(displays),
    )


def close_hardware(hardware: Hardware) -> None:
    """Let go of what ``build_hardware`` opened (the loop closes the camera itself; a process
    that exits need not call this: gpiozero releases its pins at exit)."""
    parts: list[object] = [hardware.camera, hardware.lock, hardware.door, hardware.exit_button]
    if isinstance(hardware.display, Displays):
        parts += hardware.display.displays
    for part in parts:
        close = getattr(part, "close", None)
        if callable(close):
            close()
