"""When a station closed by its hours opens again: what the door tells a rider turned away."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.access.policy import (
    ALL_DAY,
    OpeningHours,
    Span,
    StationRules,
    open_at,
    reopens_at,
)
from server.core.localtime import LOCAL_TZ


def _at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LOCAL_TZ)


DAY = Span(time(8), time(20))
NIGHT = Span(time(20), time(8))
OFFICE = StationRules(capacity=5, hours=OpeningHours((DAY,) * 5 + (None, None)))  # Mon-Fri
NIGHTS = StationRules(capacity=5, hours=OpeningHours((NIGHT,) * 7))
# 2026-12-07 is a Monday.


@pytest.mark.parametrize(
    ("station", "now", "opens"),
    [
        (OFFICE, _at(12, 7, 6, 30), _at(12, 7, 8)),  # early morning: today
        (OFFICE, _at(12, 7, 21), _at(12, 8, 8)),  # evening: tomorrow
        (OFFICE, _at(12, 11, 21), _at(12, 14, 8)),  # Friday evening: Monday
        (OFFICE, _at(12, 12, 12), _at(12, 14, 8)),  # Saturday noon: Monday
        (NIGHTS, _at(12, 7, 12), _at(12, 7, 20)),  # a night station at noon
    ],
    ids=["today", "tomorrow", "after the weekend", "weekend", "night station"],
)
def test_the_next_opening(station: StationRules, now: datetime, opens: datetime) -> None:
    assert reopens_at(station, now.timestamp()) == opens


def test_open_now_or_around_the_clock_has_no_reopening() -> None:
    assert reopens_at(OFFICE, _at(12, 7, 12).timestamp()) is None
    assert reopens_at(StationRules(capacity=5), _at(12, 7, 3).timestamp()) is None


def test_a_holiday_closing_is_skipped_and_a_whole_day_opens_at_midnight() -> None:
    hours = OpeningHours(
        (DAY,) * 7,
        holidays={date(2026, 12, 8): None, date(2026, 12, 9): ALL_DAY},
    )
    station = StationRules(capacity=5, hours=hours)
    assert reopens_at(station, _at(12, 7, 21).timestamp()) == _at(12, 9, 0)


def test_closed_for_longer_than_the_horizon_says_nothing() -> None:
    never = StationRules(capacity=5, hours=OpeningHours((None,) * 7))
    assert reopens_at(never, _at(12, 7, 12).timestamp()) is None


@given(
    st.integers(min_value=0, max_value=14 * 24 * 60),
    st.lists(st.sampled_from([DAY, NIGHT, ALL_DAY, None]), min_size=7, max_size=7),
)
def test_the_reopening_is_open_and_nothing_before_it_is(
    minutes: int, week: list[Span | None]
) -> None:
    station = StationRules(capacity=5, hours=OpeningHours(tuple(week)))
    now = _at(12, 7, 0).timestamp() + minutes * 60
    opens = reopens_at(station, now)
    if open_at(station, now) or all(span is None for span in week):
        assert opens is None
        return
    assert opens is not None
    assert opens.timestamp() > now
    assert open_at(station, opens.timestamp())
    # Closed every quarter hour from now until then.
    for step in range(int((opens.timestamp() - now) // 900)):
        assert not open_at(station, now + step * 900)
