"""What Home Assistant reads (pure): the retained discovery configs of one station, and its
state, from the station's row as plain data.

Home Assistant subscribes to ``homeassistant/<component>/<node_id>/<object_id>/config``; the
server publishes, per station (node_id = station id): a ``lock``, a door ``binary_sensor`` and
an occupancy ``sensor``, all reading the one retained state topic ``ws/v1/ha/<id>/state``, and
the availability topic ``ws/v1/ha/<id>/availability``. Read-only: Home Assistant's MQTT lock
requires a command topic, so the lock names one that nothing subscribes to and that the
monitor account may not write (server/broker/accounts.py): the broker drops every command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

DISCOVERY_PREFIX = "homeassistant"  # Home Assistant's default
STATE_ROOT = "ws/v1/ha"
# Door phases with the strike locked (a closed door relocks; see server/events/effects.py).
_LOCKED_PHASES = frozenset({"locked", "closed"})
_OPEN_PHASES = frozenset({"open", "held_open", "forced_open"})


@dataclass(frozen=True, slots=True)
class StationView:
    """What Home Assistant is told about one station."""

    station_id: str
    name: str
    online: bool
    door_phase: str
    occupancy: int
    capacity: int


def state_topic(station_id: str) -> str:
    return f"{STATE_ROOT}/{station_id}/state"


def availability_topic(station_id: str) -> str:
    return f"{STATE_ROOT}/{station_id}/availability"


def ignored_command_topic(station_id: str) -> str:
    """Required by Home Assistant's lock; nobody listens, the monitor may not write it."""
    return f"{STATE_ROOT}/{station_id}/lock/ignored"


def state_payload(view: StationView) -> bytes:
    state = {
        "lock": "LOCKED" if view.door_phase in _LOCKED_PHASES else "UNLOCKED",
        "door": "ON" if view.door_phase in _OPEN_PHASES else "OFF",
        "occupancy": view.occupancy,
        "door_phase": view.door_phase,
    }
    return json.dumps(state, sort_keys=True).encode()


def availability_payload(view: StationView) -> bytes:
    return b"online" if view.online else b"offline"


def discovery_messages(view: StationView) -> list[tuple[str, bytes]]:
    """(topic, payload) of the three retained discovery configs of one station."""
    sid = view.station_id
    common = {
        "state_topic": state_topic(sid),
        "availability_topic": availability_topic(sid),
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": {
            "identifiers": [f"warm_station_{sid}"],
            "name": view.name,
            "manufacturer": "Warm Station",
            "model": "station door",
        },
        "qos": 1,
    }
    entities = {
        "lock": {
            "name": "Lock",
            "value_template": "{{ value_json.lock }}",
            "state_locked": "LOCKED",
            "state_unlocked": "UNLOCKED",
            "command_topic": ignored_command_topic(sid),
        },
        "binary_sensor": {
            "name": "Door",
            "device_class": "door",
            "value_template": "{{ value_json.door }}",
            "payload_on": "ON",
            "payload_off": "OFF",
        },
        "sensor": {
            "name": "Occupancy",
            "icon": "mdi:account-group",
            "unit_of_measurement": "people",
            "state_class": "measurement",
            "value_template": "{{ value_json.occupancy }}",
        },
    }
    object_ids = {"lock": "lock", "binary_sensor": "door", "sensor": "occupancy"}
    messages = []
    for component, entity in entities.items():
        object_id = object_ids[component]
        config = {**common, **entity, "unique_id": f"warm_station_{sid}_{object_id}"}
        topic = f"{DISCOVERY_PREFIX}/{component}/{sid}/{object_id}/config"
        messages.append((topic, json.dumps(config, sort_keys=True).encode()))
    return messages


@dataclass(frozen=True, slots=True)
class Published:
    """What was last published for one station: its view, and the payloads made from it."""

    view: StationView
    state: bytes
    availability: bytes


def changes(
    views: list[StationView], published: dict[str, Published]
) -> tuple[list[tuple[str, bytes]], dict[str, Published]]:
    """The messages to publish now (retained) so Home Assistant matches ``views``, and what
    will then have been published. A station seen the first time gets its discovery; one
    whose row did not change costs a comparison, not a payload (it runs every second)."""
    messages: list[tuple[str, bytes]] = []
    now: dict[str, Published] = {}
    for view in views:
        before = published.get(view.station_id)
        if before is not None and before.view == view:
            now[view.station_id] = before
            continue
        state, availability = state_payload(view), availability_payload(view)
        if before is None or before.view.name != view.name:
            messages += discovery_messages(view)
        if before is None or before.state != state:
            messages.append((state_topic(view.station_id), state))
        if before is None or before.availability != availability:
            messages.append((availability_topic(view.station_id), availability))
        now[view.station_id] = Published(view, state, availability)
    return messages, now
