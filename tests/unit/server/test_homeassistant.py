"""Home Assistant discovery payloads (pure): three entities per station on Home Assistant's
topics, one retained state they all read, and only what changed published again."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from server.homeassistant.discovery import (
    Published,
    StationView,
    availability_topic,
    changes,
    discovery_messages,
    state_payload,
    state_topic,
)

VIEW = StationView("station-01", "西湖驿站", True, "locked", 2, 6)


def _configs(view: StationView) -> dict[str, dict[str, object]]:
    return {topic: json.loads(payload) for topic, payload in discovery_messages(view)}


def test_a_station_is_a_lock_a_door_and_an_occupancy_sensor() -> None:
    configs = _configs(VIEW)
    assert sorted(configs) == [
        "homeassistant/binary_sensor/station-01/door/config",
        "homeassistant/lock/station-01/lock/config",
        "homeassistant/sensor/station-01/occupancy/config",
    ]
    for config in configs.values():
        assert config["state_topic"] == "ws/v1/ha/station-01/state"
        assert config["availability_topic"] == "ws/v1/ha/station-01/availability"
        assert config["device"] == {
            "identifiers": ["warm_station_station-01"],
            "name": "西湖驿站",
            "manufacturer": "Warm Station",
            "model": "station door",
        }
    unique_ids = {config["unique_id"] for config in configs.values()}
    assert len(unique_ids) == 3
    door = configs["homeassistant/binary_sensor/station-01/door/config"]
    assert door["device_class"] == "door"


def test_the_lock_takes_no_command_anyone_listens_to() -> None:
    lock = _configs(VIEW)["homeassistant/lock/station-01/lock/config"]
    # Home Assistant requires a command topic; this one is under the state root, which the
    # monitor account may only read, and nothing subscribes to it.
    assert lock["command_topic"] == "ws/v1/ha/station-01/lock/ignored"
    assert "payload_open" not in lock


@pytest.mark.parametrize(
    ("phase", "lock", "door"),
    [
        ("locked", "LOCKED", "OFF"),
        ("closed", "LOCKED", "OFF"),
        ("unlocked", "UNLOCKED", "OFF"),
        ("open", "UNLOCKED", "ON"),
        ("held_open", "UNLOCKED", "ON"),
        ("forced_open", "UNLOCKED", "ON"),
    ],
)
def test_state_follows_the_door_phase(phase: str, lock: str, door: str) -> None:
    state = json.loads(state_payload(replace(VIEW, door_phase=phase)))
    assert state == {"lock": lock, "door": door, "occupancy": 2, "door_phase": phase}


def test_no_secret_reaches_home_assistant() -> None:
    everything = b"".join(payload for _, payload in discovery_messages(VIEW))
    everything += state_payload(VIEW)
    for word in (b"token", b"password", b"key", b"secret"):
        assert word not in everything.lower()


def test_only_what_changed_is_published_again() -> None:
    first, published = changes([VIEW], {})
    assert len(first) == 5  # three configs, the state, the availability
    again, published = changes([VIEW], published)
    assert again == []
    entered, published = changes([replace(VIEW, occupancy=3)], published)
    assert entered == [(state_topic("station-01"), state_payload(replace(VIEW, occupancy=3)))]
    gone, _ = changes([replace(VIEW, occupancy=3, online=False)], published)
    assert gone == [(availability_topic("station-01"), b"offline")]


def test_a_new_station_gets_its_discovery_and_the_others_nothing() -> None:
    _, published = changes([VIEW], {})
    other = replace(VIEW, station_id="station-02", name="B")
    messages, now = changes([VIEW, other], published)
    assert [topic for topic, _ in messages if topic.endswith("/config")] == [
        topic for topic, _ in discovery_messages(other)
    ]
    assert set(now) == {"station-01", "station-02"}
    assert now["station-01"] == Published(VIEW, state_payload(VIEW), b"online")


def test_a_renamed_station_gets_its_discovery_again() -> None:
    _, published = changes([VIEW], {})
    renamed = replace(VIEW, name="西湖驿站二号")
    messages, _ = changes([renamed], published)
    assert [topic for topic, _ in messages] == [topic for topic, _ in discovery_messages(renamed)]
