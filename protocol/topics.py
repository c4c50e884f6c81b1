"""Every MQTT topic string is built and parsed here, and nowhere else.

Layout: ``ws/v1/stations/{station_id}/{family}`` (see ``protocol/asyncapi.yaml``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ROOT = "ws/v1/stations"

# Lower-case letters, digits and dashes only: never an MQTT wildcard, a slash or a `$`.
STATION_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
_STATION_ID = re.compile(STATION_ID_PATTERN)


class Family(StrEnum):
    """The kind of message a station topic carries."""

    ACCESS_REQUEST = "access/request"
    ACCESS_DECISION = "access/decision"
    EVENTS = "events"
    EVENTS_ACK = "events/ack"
    STATE = "state"
    HEARTBEAT = "heartbeat"
    CONFIG = "config"
    COMMANDS = "commands"


class InvalidStationIdError(ValueError):
    """A station id that cannot be used in a topic."""


def is_valid_station_id(station_id: str) -> bool:
    return _STATION_ID.fullmatch(station_id) is not None  # "$" alone lets "id\n" through


def station_topic(station_id: str, family: Family) -> str:
    """The topic of one station for one message family."""
    if not is_valid_station_id(station_id):
        raise InvalidStationIdError(f"invalid station id {station_id!r}")
    return f"{ROOT}/{station_id}/{family.value}"


def all_stations(family: Family) -> str:
    """The wildcard subscription for one family across all stations."""
    return f"{ROOT}/+/{family.value}"


def shared(group: str, topic_filter: str) -> str:
    """An MQTT 5 shared subscription, so several server workers split the load."""
    return f"$share/{group}/{topic_filter}"


@dataclass(frozen=True, slots=True)
class StationTopic:
    station_id: str
    family: Family


_FAMILIES = {family.value: family for family in Family}


def parse(topic: str) -> StationTopic | None:
    """The station and family a topic names, or None for a topic that is not ours."""
    prefix = ROOT + "/"
    if not topic.startswith(prefix):
        return None
    station_id, _, rest = topic[len(prefix) :].partition("/")
    family = _FAMILIES.get(rest)
    if family is None or not is_valid_station_id(station_id):
        return None
    return StationTopic(station_id, family)
