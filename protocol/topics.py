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


# -- deployment-wide trust data ----------------------------------------------------------
# Published once for every station (retained), not once per station: the rider-token keys,
# the control keys and the audience on one page, the denylist on DENYLIST_BUCKETS pages by
# hash of the rider id, so a revocation republishes one small page whatever the number of
# stations, and no page outgrows the payload cap (sizes in ``protocol.trust``).
TRUST_ROOT = "ws/v1/trust"
TRUST_KEYS = f"{TRUST_ROOT}/keys"
DENYLIST_BUCKETS = 256
_DENYLIST_PREFIX = f"{TRUST_ROOT}/denylist/"


def denylist_topic(bucket: int) -> str:
    """The retained page of one denylist bucket (two hex digits, 00-ff)."""
    if not 0 <= bucket < DENYLIST_BUCKETS:
        raise ValueError(f"no denylist bucket {bucket}")
    return f"{_DENYLIST_PREFIX}{bucket:02x}"


def all_denylist_pages() -> str:
    return f"{_DENYLIST_PREFIX}+"


def all_trust_topics() -> str:
    """The one subscription a station needs for every trust page."""
    return f"{TRUST_ROOT}/#"


@dataclass(frozen=True, slots=True)
class TrustTopic:
    """The keys page (``bucket`` None) or one denylist bucket's page."""

    bucket: int | None

    @property
    def name(self) -> str:
        """What a trust page's signature binds: ``keys`` or ``denylist/<bucket>``."""
        return "keys" if self.bucket is None else f"denylist/{self.bucket:02x}"


def parse_trust(topic: str) -> TrustTopic | None:
    """The trust page a topic names, or None for any other topic."""
    if topic == TRUST_KEYS:
        return TrustTopic(None)
    if not topic.startswith(_DENYLIST_PREFIX):
        return None
    rest = topic[len(_DENYLIST_PREFIX) :]
    if len(rest) != 2 or rest != rest.lower() or any(c not in "0123456789abcdef" for c in rest):
        return None
    return TrustTopic(int(rest, 16))
