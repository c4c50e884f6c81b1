"""A station's stored rules as the pure policy sees them, and the opening-hours format."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, time
from functools import lru_cache
from typing import Any

from protocol.payloads import StationMode
from server.access.policy import (
    DayKind,
    Emergency,
    OpeningHours,
    PassbackMode,
    Span,
    StationRules,
    open_at,
)
from server.core.errors import ErrorCode, InvalidError
from server.stations.holidays import china_days
from server.stations.models import Station, StationRulesUpdate

DAYS = 7
# Plain columns a rules change may set as given.
PLAIN_RULES = ("capacity", "soft_limit", "maintenance", "outdoor_temp_c", "latitude", "longitude")
# The hours of the days the national calendar makes special, when a station sets them.
CALENDAR_KEYS = {
    "public_holidays": DayKind.PUBLIC_HOLIDAY,
    "adjusted_workdays": DayKind.ADJUSTED_WORKDAY,
}


def _span(value: Any, where: str) -> Span | None:
    if value is None:
        return None  # closed all day
    if not (isinstance(value, list) and len(value) == 2):
        raise InvalidError(ErrorCode.HOURS_SPAN, where=where)
    try:
        opens, closes = (time.fromisoformat(str(part)) for part in value)
    except ValueError:
        raise InvalidError(ErrorCode.HOURS_TIME, where=where) from None
    return Span(opens, closes)


def parse_opening_hours(raw: dict[str, Any]) -> OpeningHours:
    """``{"weekly": [7 spans, Monday first], "holidays": {"YYYY-MM-DD": span},
    "public_holidays": span, "adjusted_workdays": span}``; a span is ``["08:00", "22:00"]``
    (past midnight when it closes earlier than it opens) or null (closed). The last two are
    optional: with them the national calendar (``server.stations.holidays``) decides which
    days are public holidays and adjusted working days (调休); a date under ``holidays``
    still wins. Raises InvalidError (a ValueError) naming what is wrong."""
    weekly = raw.get("weekly")
    if not isinstance(weekly, list) or len(weekly) != DAYS:
        raise InvalidError(ErrorCode.HOURS_WEEKLY)
    holidays_raw = raw.get("holidays", {})
    if not isinstance(holidays_raw, dict):
        raise InvalidError(ErrorCode.HOURS_HOLIDAYS)
    holidays: dict[date, Span | None] = {}
    for day, span in holidays_raw.items():
        try:
            when = date.fromisoformat(day)
        except (TypeError, ValueError):
            raise InvalidError(ErrorCode.HOURS_HOLIDAY_DATE, day=str(day)) from None
        holidays[when] = _span(span, f"opening_hours.holidays.{day}")
    spans = tuple(_span(span, f"opening_hours.weekly[{i}]") for i, span in enumerate(weekly))
    by_kind = {
        kind: _span(raw[key], f"opening_hours.{key}")
        for key, kind in CALENDAR_KEYS.items()
        if key in raw
    }
    unknown = sorted(set(raw) - {"weekly", "holidays", *CALENDAR_KEYS})
    if unknown:
        raise InvalidError(ErrorCode.HOURS_UNKNOWN_KEYS, keys=", ".join(unknown))
    return OpeningHours(
        weekly=spans,
        holidays=holidays,
        by_kind=by_kind,
        calendar=china_days() if by_kind else {},
    )


def rules_of(station: Station) -> StationRules:
    return rules_from(
        capacity=station.capacity,
        soft_limit=station.soft_limit,
        opening_hours=station.opening_hours,
        lockdown=station.lockdown,
        maintenance=station.maintenance,
        emergency=station.emergency,
        passback=station.passback,
    )


def rules_from(
    *,
    capacity: int,
    soft_limit: float,
    opening_hours: str | None,
    lockdown: bool,
    maintenance: bool,
    emergency: str | None,
    passback: str,
) -> StationRules:
    """The rules from the station's stored columns (a decision reads only these)."""
    return StationRules(
        capacity=capacity,
        soft_limit=soft_limit,
        hours=_hours(opening_hours) if opening_hours else None,
        lockdown=lockdown,
        maintenance=maintenance,
        emergency=Emergency(emergency) if emergency else None,
        passback=PassbackMode(passback),
    )


@lru_cache(maxsize=4096)
def _hours(text: str) -> OpeningHours:
    """Parsed once per distinct stored text: a decision must not parse JSON (stations share a
    few timetables, and the result is immutable)."""
    return parse_opening_hours(json.loads(text))


def mode_of(station: Station) -> StationMode:
    if station.maintenance:
        return StationMode.MAINTENANCE
    if station.emergency:
        return StationMode.FREE_ENTRY
    return StationMode.NORMAL


@lru_cache(maxsize=1024)
def _hours_of(opening_hours: str) -> OpeningHours:
    """Parsed once per distinct text: most stations share a few timetables, and the minute
    job asks for every station with hours."""
    return parse_opening_hours(json.loads(opening_hours))


def closed_by_hours(opening_hours: str | None, emergency: str | None, now: float) -> bool:
    """Whether the station's hours refuse riders at ``now`` (free entry in an emergency
    ignores the hours; None is open 24 hours)."""
    if opening_hours is None or emergency:
        return False
    return not open_at(StationRules(capacity=1, hours=_hours_of(opening_hours)), now)


def rules_update(change: StationRulesUpdate) -> dict[str, Any]:
    """The station columns a staff change of its rules sets (column -> new value). Raises
    InvalidError (a ValueError) naming what is wrong; then nothing is to be changed."""
    if change.opening_hours is not None and change.open_all_day:
        raise InvalidError(ErrorCode.HOURS_OR_ALL_DAY)
    if change.emergency is not None and change.end_emergency:
        raise InvalidError(ErrorCode.EMERGENCY_OR_END)
    updates: dict[str, Any] = {}
    if change.opening_hours is not None:
        parse_opening_hours(change.opening_hours)
        updates["opening_hours"] = json.dumps(change.opening_hours)
    if change.open_all_day:
        updates["opening_hours"] = None
    for name in PLAIN_RULES:
        value = getattr(change, name)
        if value is not None:
            updates[name] = value
    if change.emergency is not None:
        updates["emergency"] = change.emergency.value
    if change.end_emergency:
        updates["emergency"] = None
    if change.passback is not None:
        updates["passback"] = change.passback.value
    return updates


def mode_update(mode: StationMode, emergency: Emergency | None) -> dict[str, Any]:
    """The columns that make ``mode_of`` the station give ``mode`` (``set_mode``): stored on
    the station, so its config and the server's decisions keep it. Free entry needs its
    cause. Raises InvalidError (a ValueError) naming what is wrong."""
    if mode is StationMode.FREE_ENTRY and emergency is None:
        raise InvalidError(ErrorCode.FREE_ENTRY_NEEDS_CAUSE)
    if mode is not StationMode.FREE_ENTRY and emergency is not None:
        raise InvalidError(ErrorCode.EMERGENCY_ONLY_WITH_FREE_ENTRY)
    return {
        "maintenance": mode is StationMode.MAINTENANCE,
        "emergency": emergency.value if emergency is not None else None,
    }


def audit_values(station: Station, columns: Iterable[str]) -> dict[str, Any]:
    """Columns as the audit trail keeps them: opening hours as an object (None: 24 hours)."""
    values: dict[str, Any] = {}
    for name in columns:
        value = getattr(station, name)
        values[name] = json.loads(value) if name == "opening_hours" and value else value
    return values
