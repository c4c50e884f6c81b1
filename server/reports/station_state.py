"""What a station is, as staff read it at a glance, and how urgent it is: pure, over plain
facts, time passed in.

The overview's state badge, its problems-first order and the map's marker colours come from
here. The order is also written in SQL (``server.reports.listing``), so that a page of 200 of
10,000 stations is sorted by the database; a test checks that both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum


class Badge(StrEnum):
    """One word per station, first match wins (``badge``); listed in the legend's order
    (``STATES`` in static/station_map.js)."""

    OPEN = "open"
    NEARLY_FULL = "nearly_full"
    FULL = "full"
    CLOSED_BY_HOURS = "closed_by_hours"
    LOCKDOWN = "lockdown"
    MAINTENANCE = "maintenance"
    OFFLINE = "offline"
    NEVER_CONNECTED = "never_connected"


# What staff can no longer see live: the door and the count are last known, not current.
UNSEEN = frozenset({Badge.OFFLINE, Badge.NEVER_CONNECTED})


class Problem(IntEnum):
    """How urgent a station is: lower first. Alarms, offline, full, closed by staff
    (lockdown, maintenance), nearly full, then the rest."""

    ALARM = 0
    OFFLINE = 1
    FULL = 2
    CLOSED_BY_STAFF = 3
    NEARLY_FULL = 4
    NONE = 5


@dataclass(frozen=True, slots=True)
class StationFacts:
    online: bool
    ever_online: bool  # a birth was ever seen (a provisioned box that never came has none)
    lockdown: bool
    maintenance: bool
    closed_by_hours: bool  # refused by its opening hours now (server.stations.opening)
    occupancy: int
    capacity: int
    soft_limit: float  # share of the capacity from which it is nearly full
    alarms: int  # unacknowledged


def is_full(occupancy: int, capacity: int) -> bool:
    return occupancy >= capacity


def is_nearly_full(occupancy: int, capacity: int, soft_limit: float) -> bool:
    return soft_limit * capacity <= occupancy < capacity


def badge(facts: StationFacts) -> Badge:
    """Offline first (nothing else shown is current then), then what staff set (lockdown,
    maintenance), then the hours (nobody gets in, however full), then how full."""
    if not facts.online:
        return Badge.OFFLINE if facts.ever_online else Badge.NEVER_CONNECTED
    if facts.lockdown:
        return Badge.LOCKDOWN
    if facts.maintenance:
        return Badge.MAINTENANCE
    if facts.closed_by_hours:
        return Badge.CLOSED_BY_HOURS
    if is_full(facts.occupancy, facts.capacity):
        return Badge.FULL
    if is_nearly_full(facts.occupancy, facts.capacity, facts.soft_limit):
        return Badge.NEARLY_FULL
    return Badge.OPEN


def problem(facts: StationFacts) -> Problem:
    if facts.alarms > 0:
        return Problem.ALARM
    if not facts.online:
        return Problem.OFFLINE
    if is_full(facts.occupancy, facts.capacity):
        return Problem.FULL
    if facts.lockdown or facts.maintenance:
        return Problem.CLOSED_BY_STAFF
    if is_nearly_full(facts.occupancy, facts.capacity, facts.soft_limit):
        return Problem.NEARLY_FULL
    return Problem.NONE


def problem_key(facts: StationFacts, station_id: str) -> tuple[int, int, str]:
    """The overview's default order: most urgent first, more alarms first, then by id."""
    return (problem(facts), -facts.alarms, station_id)


def last_report(
    last_heartbeat_at: datetime | None,
    last_event_at: datetime | None,
    online_changed_at: datetime | None,
) -> datetime | None:
    """When the station last told the server anything: its newest heartbeat or event, else
    the birth or will that changed its liveness (None: it never connected)."""
    said = [at for at in (last_heartbeat_at, last_event_at) if at is not None]
    return max(said) if said else online_changed_at


class Age(StrEnum):
    JUST_NOW = "just_now"
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


def age(since: datetime, now: datetime) -> tuple[Age, int]:
    """How long ago, in the unit staff read: under a minute, minutes, hours, then days
    (rounded down; a time a little in the future, from a station's clock, is just now)."""
    seconds = (now - since).total_seconds()
    if seconds < 60:
        return Age.JUST_NOW, 0
    if seconds < 3600:
        return Age.MINUTES, int(seconds // 60)
    if seconds < 86_400:
        return Age.HOURS, int(seconds // 3600)
    return Age.DAYS, int(seconds // 86_400)
