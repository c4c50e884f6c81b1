"""admit(): whether a station's rules let a rider in now. Pure; time passed in.

The server calls it after ``decide()`` has granted the credential (genuine code, known rider,
not revoked, nonce fresh): ``admit`` adds what the station's rules say. The caller reads from
its database the station's ``StationRules`` (capacity, hours, modes, anti-passback setting),
its current count, and when this rider entered it without an exit seen since (``Stay``); it
stores the ``Admission`` with the decision and shows ``flags`` to staff. A refusal at capacity
is shown with ``protocol.reasons.full_message`` and ``server.access.nearest``.

Precedence, first match wins (tested as a table):

1. lockdown: refused (``LOCKDOWN``), whatever else is set;
2. maintenance: refused (``MAINTENANCE``);
3. emergency free entry (heat wave, typhoon, cold snap): admitted regardless of opening hours,
   capacity and anti-passback, with staff flags for what would otherwise have applied;
4. opening hours: refused when closed (``CLOSED_NOW``);
5. capacity: refused at capacity (``STATION_FULL``); admitted with a staff flag from the soft
   limit on;
6. anti-passback: a rider entering again without having left is admitted and flagged
   (``ALERT``, the default) or refused (``ENFORCE``: ``ANTI_PASSBACK``).

Exits are not tied to riders (the exit button does not know who presses it), so "without
having left" is a guess: a stay older than ``passback_window_s`` no longer counts. That is why
``ALERT`` is the default and ``ENFORCE`` is for stations where riders scan to leave.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from protocol.reasons import Reason
from server.core.localtime import LOCAL_TZ


class Emergency(StrEnum):
    HEAT_WAVE = "heat_wave"
    TYPHOON = "typhoon"
    COLD_SNAP = "cold_snap"


class PassbackMode(StrEnum):
    ALERT = "alert"
    ENFORCE = "enforce"


class StaffFlag(StrEnum):
    FREE_ENTRY = "free_entry"  # admitted under emergency free entry
    OVER_CAPACITY = "over_capacity"  # admitted at or above capacity (free entry)
    NEAR_CAPACITY = "near_capacity"  # the soft limit is reached
    ALREADY_INSIDE = "already_inside"  # entered again without having left


@dataclass(frozen=True, slots=True)
class Span:
    """Open from ``opens`` to ``closes``, local time. Past midnight when ``closes < opens``
    (a night station: 20:00-08:00); around the clock when they are equal."""

    opens: time
    closes: time


ALL_DAY = Span(time(0), time(0))


class DayKind(StrEnum):
    """A day the national calendar makes special: a public holiday, or a weekend day worked
    in exchange for one (调休, an adjusted working day)."""

    PUBLIC_HOLIDAY = "public_holiday"
    ADJUSTED_WORKDAY = "adjusted_workday"


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """A day's hours, first match wins: the station's own hours for that date (``holidays``,
    typed in by staff), then its hours for the kind of day the calendar says it is
    (``by_kind``: only the kinds the station sets), then its weekly hours. ``calendar`` is
    the national calendar's special days, looked up at the edge and passed in as data."""

    weekly: tuple[Span | None, ...]  # Monday first, seven days; None: closed all day
    holidays: Mapping[date, Span | None] = field(default_factory=dict)  # a date's own hours
    by_kind: Mapping[DayKind, Span | None] = field(default_factory=dict)
    calendar: Mapping[date, DayKind] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("weekly hours need seven days, Monday first")

    def on(self, day: date) -> Span | None:
        if day in self.holidays:
            return self.holidays[day]
        kind = self.calendar.get(day)
        if kind is not None and kind in self.by_kind:
            return self.by_kind[kind]
        return self.weekly[day.weekday()]


@dataclass(frozen=True, slots=True)
class StationRules:
    capacity: int
    soft_limit: float = 0.8  # share of capacity from which staff are warned
    hours: OpeningHours | None = None  # None: open 24 hours
    tz: ZoneInfo = LOCAL_TZ
    lockdown: bool = False
    maintenance: bool = False
    emergency: Emergency | None = None  # free entry while set
    passback: PassbackMode = PassbackMode.ALERT
    passback_window_s: float = 6 * 3600


@dataclass(frozen=True, slots=True)
class AdmissionInput:
    rider_id: str
    occupancy: int  # the station's count now
    inside_since: float | None = None  # this rider's entry here with no exit seen since


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    reason: Reason  # GRANTED or why not
    flags: tuple[StaffFlag, ...] = ()


def admit(request: AdmissionInput, station: StationRules, now: float) -> Admission:
    """Denial is a value; see the module docstring for the order of the rules."""
    if station.lockdown:
        return Admission(False, Reason.LOCKDOWN)
    if station.maintenance:
        return Admission(False, Reason.MAINTENANCE)
    inside = _already_inside(request, station, now)
    if station.emergency is not None:
        flags = [StaffFlag.FREE_ENTRY]
        if request.occupancy >= station.capacity:
            flags.append(StaffFlag.OVER_CAPACITY)
        if inside:
            flags.append(StaffFlag.ALREADY_INSIDE)
        return Admission(True, Reason.GRANTED, tuple(flags))
    if not open_at(station, now):
        return Admission(False, Reason.CLOSED_NOW)
    if request.occupancy >= station.capacity:
        return Admission(False, Reason.STATION_FULL)
    if inside and station.passback is PassbackMode.ENFORCE:
        return Admission(False, Reason.ANTI_PASSBACK, (StaffFlag.ALREADY_INSIDE,))
    flags = []
    if request.occupancy + 1 >= soft_count(station):
        flags.append(StaffFlag.NEAR_CAPACITY)
    if inside:
        flags.append(StaffFlag.ALREADY_INSIDE)
    return Admission(True, Reason.GRANTED, tuple(flags))


def soft_count(station: StationRules) -> int:
    """The count from which staff are warned (at least 1, at most the capacity)."""
    return min(station.capacity, max(1, math.ceil(station.capacity * station.soft_limit)))


def accepting_riders(station: StationRules, now: float) -> bool:
    """Whether riders can be let in now at all (for naming another station to go to)."""
    if station.lockdown or station.maintenance:
        return False
    return station.emergency is not None or open_at(station, now)


def open_at(station: StationRules, now: float) -> bool:
    """Inside opening hours, in the station's time zone."""
    if station.hours is None:
        return True
    local = datetime.fromtimestamp(now, station.tz)
    return _within(station.hours, local.date(), local.time())


# How far ahead ``reopens_at`` looks: past a Spring Festival closing, not forever.
REOPEN_HORIZON_DAYS = 31


def reopens_at(station: StationRules, now: float) -> datetime | None:
    """When a station closed by its hours opens again (local time, aware), or None: open now,
    no hours (24 hours), or closed for the whole horizon. Lockdown and maintenance have no
    planned end, so they are not looked at here."""
    if station.hours is None or open_at(station, now):
        return None
    today = datetime.fromtimestamp(now, station.tz).date()
    for offset in range(REOPEN_HORIZON_DAYS + 1):
        day = today + timedelta(days=offset)
        span = station.hours.on(day)
        if span is None:
            continue
        # A day open around the clock opens at midnight; any other at its opening time.
        opens = time(0) if span.opens == span.closes else span.opens
        candidate = datetime.combine(day, opens, station.tz)
        if candidate.timestamp() > now and open_at(station, candidate.timestamp()):
            return candidate
    return None


def _within(hours: OpeningHours, day: date, at: time) -> bool:
    today = hours.on(day)
    if today is not None:
        if today.opens == today.closes:
            return True
        if today.opens < today.closes and today.opens <= at < today.closes:
            return True
        if today.closes < today.opens and at >= today.opens:
            return True
    # Last night's hours run on into this morning, even if today is a holiday.
    yesterday = hours.on(day - timedelta(days=1))
    return yesterday is not None and yesterday.closes < yesterday.opens and at < yesterday.closes


def _already_inside(request: AdmissionInput, station: StationRules, now: float) -> bool:
    since = request.inside_since
    return since is not None and now - since < station.passback_window_s
