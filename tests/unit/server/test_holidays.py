"""Opening hours on China's calendar: public holidays, adjusted working days (调休), and a
station's own date winning over both. Dates known from the State Council's 2025 arrangement."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import pytest

from server.access.policy import DayKind, OpeningHours, Span, StationRules, open_at
from server.core.localtime import LOCAL_TZ
from server.stations.holidays import china_days, covered_through, warn_if_stale
from server.stations.rules import parse_opening_hours

WEEKDAYS = [["08:00", "20:00"]] * 5 + [None, None]  # closed at weekends


def _open(raw: dict[str, Any], day: date, hour: int = 12) -> bool:
    hours = parse_opening_hours(raw)
    at = datetime.combine(day, time(hour), LOCAL_TZ).timestamp()
    return open_at(StationRules(capacity=10, hours=hours), at)


def test_the_calendar_knows_2025s_national_day_and_its_adjusted_sunday() -> None:
    days = china_days()
    assert days[date(2025, 10, 1)] is DayKind.PUBLIC_HOLIDAY
    assert days[date(2025, 9, 28)] is DayKind.ADJUSTED_WORKDAY  # a Sunday worked
    assert date(2025, 9, 29) not in days  # an ordinary Monday
    assert covered_through() >= 2025


def test_public_holiday_hours_apply_on_national_day() -> None:
    raw = {"weekly": WEEKDAYS, "public_holidays": None}
    assert date(2025, 10, 1).weekday() == 2  # a Wednesday: open by the weekly hours
    assert not _open(raw, date(2025, 10, 1))
    assert _open(raw, date(2025, 10, 9))  # an ordinary Thursday


def test_adjusted_working_day_hours_apply_on_that_sunday() -> None:
    raw = {"weekly": WEEKDAYS, "adjusted_workdays": ["08:00", "20:00"]}
    assert _open(raw, date(2025, 9, 28))
    assert not _open(raw, date(2025, 9, 21))  # an ordinary Sunday stays closed


def test_without_the_calendar_keys_only_weekly_hours_count() -> None:
    raw = {"weekly": WEEKDAYS}
    assert _open(raw, date(2025, 10, 1))
    assert not _open(raw, date(2025, 9, 28))
    assert parse_opening_hours(raw).calendar == {}


def test_the_stations_own_date_wins_over_the_calendar() -> None:
    raw = {
        "weekly": WEEKDAYS,
        "public_holidays": None,
        "adjusted_workdays": ["08:00", "20:00"],
        "holidays": {"2025-10-01": ["10:00", "14:00"], "2025-09-28": None},
    }
    assert _open(raw, date(2025, 10, 1), hour=11)
    assert not _open(raw, date(2025, 10, 1), hour=15)
    assert not _open(raw, date(2025, 9, 28))


def test_the_pure_rule_takes_the_calendar_as_data() -> None:
    hours = OpeningHours(
        weekly=(None,) * 7,
        by_kind={DayKind.PUBLIC_HOLIDAY: Span(time(9), time(17))},
        calendar={date(2030, 2, 1): DayKind.PUBLIC_HOLIDAY},
    )
    assert hours.on(date(2030, 2, 1)) == Span(time(9), time(17))
    assert hours.on(date(2030, 2, 2)) is None


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ({"weekly": WEEKDAYS, "public_holidays": "closed"}, "public_holidays"),
        ({"weekly": WEEKDAYS, "adjusted_workdays": ["8am", "5pm"]}, "adjusted_workdays"),
        ({"weekly": WEEKDAYS, "festivals": None}, "unknown keys"),
    ],
)
def test_bad_calendar_hours_are_refused(raw: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_opening_hours(raw)


def test_a_year_beyond_the_calendar_is_warned_about() -> None:
    assert not warn_if_stale(date(2025, 6, 1))
    assert warn_if_stale(date(covered_through() + 1, 1, 1))
