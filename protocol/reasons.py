"""Reason codes of access decisions.

A code is stable: it is stored, shown to staff and matched by tests. What a rider reads for
each (at the door, in zh-CN and English) is in the catalogue: ``i18n.rider_message``; those
texts say what to do, never why internally.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Reason(StrEnum):
    GRANTED = "granted"
    # The code itself (checked at the station, cheapest first).
    TOO_LONG = "too_long"
    NOT_OUR_CODE = "not_our_code"
    BAD_ENCODING = "bad_encoding"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    LIFETIME_TOO_LONG = "lifetime_too_long"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    WRONG_AUDIENCE = "wrong_audience"
    # A device code's certificate (protocol.device_cert): the phone must go online to renew it.
    DEVICE_CERT_EXPIRED = "device_cert_expired"
    DEVICE_CERT_NOT_YET_VALID = "device_cert_not_yet_valid"
    # The rider (checked by the server).
    UNKNOWN_RIDER = "unknown_rider"
    REVOKED = "revoked"
    REPLAYED = "replayed"
    # The station.
    NOT_CONFIGURED = "not_configured"
    SERVER_UNAVAILABLE = "server_unavailable"
    DENYLIST_STALE = "denylist_stale"
    CLOCK_UNTRUSTED = "clock_untrusted"
    UNKNOWN_STATION = "unknown_station"
    STATION_MISMATCH = "station_mismatch"
    # The station's rules (checked by the server after the credential).
    STATION_FULL = "station_full"
    CLOSED_NOW = "closed_now"
    MAINTENANCE = "maintenance"
    LOCKDOWN = "lockdown"
    ANTI_PASSBACK = "anti_passback"


# Refusals that leave a rider nowhere to go here: the door names the nearest open station
# with room and, when its hours say, when this one reopens (``DoorHint``).
DEAD_ENDS = frozenset({Reason.STATION_FULL, Reason.CLOSED_NOW, Reason.MAINTENANCE, Reason.LOCKDOWN})
# A station farther than this (straight line) is no next step for someone on a bike.
NEARBY_MAX_M = 30_000


@dataclass(frozen=True, slots=True)
class DoorHint:
    """The next step shown with a refusal (words: ``i18n.door_message``). The server sends the
    first three with a dead-end decision (``AccessDecision``); the hotline comes from the
    keys page every station holds, so the station has it offline too."""

    nearby: str | None = None  # the nearest open station with room
    nearby_distance_m: int | None = None  # straight-line, from this station
    reopens_at: datetime | None = None  # this station's next opening, local time
    decided_at: datetime | None = None  # what "today" and "tomorrow" are relative to
    hotline: str | None = None  # the union's phone number for riders
