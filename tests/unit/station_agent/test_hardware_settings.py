"""How a box's wiring is said: ``AgentSettings.hardware`` from ``WS_AGENT_HARDWARE__*``."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from station_agent.config import AgentSettings
from station_agent.hardware_settings import HardwareSettings, Pull
from tests.unit.station_agent.rig import IDENTITY


def test_by_default_nothing_is_wired_but_the_camera_and_the_screen() -> None:
    hardware = AgentSettings(station_id="station-01", **IDENTITY).hardware
    assert hardware == HardwareSettings()
    assert set(hardware.pins.values()) == {None}
    assert hardware.camera_source == 0
    assert hardware.display_port == 8470


def test_nested_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "WS_AGENT_HARDWARE__LOCK_PIN": "17",
        "WS_AGENT_HARDWARE__LOCK_ACTIVE_HIGH": "false",
        "WS_AGENT_HARDWARE__DOOR_PIN": "27",
        "WS_AGENT_HARDWARE__DOOR_PULL": "none",
        "WS_AGENT_HARDWARE__CAMERA_SOURCE": "/dev/video2",
        "WS_AGENT_HARDWARE__DISPLAY_PORT": "8080",
        "WS_AGENT_UNLOCK_S": "3",
    }.items():
        monkeypatch.setenv(name, value)
    settings = AgentSettings(station_id="station-01", **IDENTITY)
    hardware = settings.hardware
    assert (hardware.lock_pin, hardware.lock_active_high) == (17, False)
    assert (hardware.door_pin, hardware.door_pull) == (27, Pull.NONE)
    assert hardware.door_pull.pull_up is None
    assert hardware.camera_source == "/dev/video2"
    assert hardware.display_port == 8080
    assert settings.unlock_s == 3  # the flat names still work beside the nested ones


@pytest.mark.parametrize(("text", "source"), [("1", 1), (" 0 ", 0), ("door.avi", "door.avi")])
def test_a_camera_number_from_text_is_a_device_index(text: str, source: int | str) -> None:
    assert HardwareSettings(camera_source=text).camera_source == source


def test_two_parts_on_one_pin_are_refused() -> None:
    with pytest.raises(ValidationError, match="two parts on one GPIO pin"):
        HardwareSettings(lock_pin=17, exit_pin=17)


@pytest.mark.parametrize("pin", [-1, 28])
def test_pins_are_header_gpio_numbers(pin: int) -> None:
    with pytest.raises(ValidationError):
        HardwareSettings(lock_pin=pin)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        HardwareSettings.model_validate({"lock_pn": 17})
