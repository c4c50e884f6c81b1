"""How one station box is wired: camera, display, and the GPIO pins of its door parts.

Nested in ``AgentSettings.hardware``; from the environment as ``WS_AGENT_HARDWARE__<FIELD>``
(e.g. ``WS_AGENT_HARDWARE__LOCK_PIN=17``). Pins are BCM GPIO numbers; a pin left unset means
the part is absent (a dev box has none). The lock type (strike or maglock) is
``AgentSettings.lock_type``: the agent reports it to the server, so it is said once.

Inputs: ``*_pull`` ``up`` (internal pull-up, the usual switch to ground), ``down`` or ``none``
(floating: the board has its own resistor); ``door_open_high`` / ``exit_pressed_high`` say
which pin level means open / pressed. Outputs: ``*_active_high`` False for the many relay
boards whose input is active-low.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Pull(StrEnum):
    UP = "up"
    DOWN = "down"
    NONE = "none"

    @property
    def pull_up(self) -> bool | None:
        """As gpiozero says it."""
        return {Pull.UP: True, Pull.DOWN: False, Pull.NONE: None}[self]


Gpio = Annotated[int, Field(ge=0, le=27)]  # the 40-pin header's BCM numbers


class HardwareSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # A device index (0: /dev/video0), a device path, a video file or a stream URL.
    camera_source: int | str = 0
    frame_width: int = Field(default=640, ge=160, le=4096)
    frame_height: int = Field(default=480, ge=120, le=4096)
    # A frame older than this is no frame (a hung device); a lost camera is reopened after
    # camera_retry_s, doubling up to camera_retry_max_s.
    camera_stale_s: float = Field(default=2.0, gt=0, le=60)
    camera_retry_s: float = Field(default=0.5, gt=0, le=60)
    camera_retry_max_s: float = Field(default=10.0, gt=0, le=600)
    # The kiosk page, served on 127.0.0.1 only; None: no screen. 0: any free port (tests).
    display_port: int | None = Field(default=8470, ge=0, le=65535)
    # The idle screen's name for the station (default: its id), and how long a message stays.
    display_name: str | None = Field(default=None, max_length=64)
    display_hold_s: float = Field(default=5.0, gt=0, le=120)

    lock_pin: Gpio | None = None
    lock_active_high: bool = True
    door_pin: Gpio | None = None
    door_pull: Pull = Pull.UP
    door_open_high: bool = True  # reed contact to ground: a closed door pulls the pin low
    exit_pin: Gpio | None = None
    exit_pull: Pull = Pull.UP
    exit_pressed_high: bool = False  # a button to ground pulls the pin low
    exit_bounce_s: float | None = Field(default=0.05, ge=0, le=1)
    buzzer_pin: Gpio | None = None
    buzzer_active_high: bool = True
    led_pin: Gpio | None = None
    led_active_high: bool = True

    @field_validator("camera_source")
    @classmethod
    def _index_from_text(cls, source: int | str) -> int | str:
        """From the environment everything is text: "0" is device 0, not a file named 0."""
        if isinstance(source, str) and source.strip().isdigit():
            return int(source)
        return source

    @model_validator(mode="after")
    def _pins_distinct(self) -> HardwareSettings:
        pins = [p for p in self.pins.values() if p is not None]
        if len(pins) != len(set(pins)):
            raise ValueError(f"two parts on one GPIO pin: {self.pins}")
        return self

    @property
    def pins(self) -> dict[str, int | None]:
        return {
            "lock": self.lock_pin,
            "door": self.door_pin,
            "exit": self.exit_pin,
            "buzzer": self.buzzer_pin,
            "led": self.led_pin,
        }
