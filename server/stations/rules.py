"""A station's stored rules as the pure policy sees them, and the opening-hours format."""

from __future__ import annotations

import json
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
)
from server.stations.holidays import china_days
from server.stations.models import Station

DAYS = 7
# The hours of the days the national calendar makes special, when a station sets them.
CALENDAR_KEYS = {
    "public_holidays": DayKind.PUBLIC_HOLIDAY,
    "adjusted_workdays": DayKind.ADJUSTED_WORKDAY,
}


def _span(value: Any, where: str) -> Span | None:
    if value is None:
        return None  # closed all day
    if not (isinstance(value, list) and len(value) == 2):
        raise ValueError(f'{where}: expected ["HH:MM", "HH:MM"] or null')
    try:
        opens, closes = (time.fromisoformat(str(part)) for part in value)
    except ValueError:
        raise ValueError(f'{where}: times must look like "08:00"') from None
    return Span(opens, closes)


def parse_opening_hours(raw: dict[str, Any]) -> OpeningHours:
    """``{"weekly": [7 spans, Monday first], "holidays": {"YYYY-MM-DD": span},
    "public_holidays": span, "adjusted_workdays": span}``; a span is ``["08:00", "22:00"]``
    (past midnight when it closes earlier than it opens) or null (closed). The last two are
    optional: with them the national calendar (``server.stations.holidays``) decides which
    days are public holidays and adjusted working days (调休); a date under ``holidays``
    still wins. Raises ValueError naming what is wrong."""
    weekly = raw.get("weekly")
    if not isinstance(weekly, list) or len(weekly) != DAYS:
        raise ValueError("opening_hours.weekly: seven days, Monday first")
    holidays_raw = raw.get("holidays", {})
    if not isinstance(holidays_raw, dict):
        raise ValueError("opening_hours.holidays: an object of dates")
    holidays: dict[date, Span | None] = {}
    for day, span in holidays_raw.items():
        try:
            holidays[date.fromisoformat(day)] = _span(span, f"opening_hours.holidays.{day}")
        except (TypeError, ValueError) as exc:
            raise ValueError(
                str(exc)
                if "opening_hours" in str(exc)
                else f"opening_hours.holidays: {day!r} is not a date"
            ) from None
    spans = tuple(_span(span, f"opening_hours.weekly[{i}]") for i, span in enumerate(weekly))
    by_kind = {
        kind: _span(raw[key], f"opening_hours.{key}")
        for key, kind in CALENDAR_KEYS.items()
        if key in raw
    }
    unknown = sorted(set(raw) - {"weekly", "holidays", *CALENDAR_KEYS})
    if unknown:
        raise ValueError(f"opening_hours: unknown keys {unknown}")
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
