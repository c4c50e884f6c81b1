"""When a closed station opens again (``policy.reopens_at``), as the finder shows it: every
kind of day, and (property) the time given is the first open moment."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.access.policy import (
    ALL_DAY,
    DayKind,
    OpeningHours,
    Span,
    StationRules,
    open_at,
    reopens_at,
)
from server.core.localtime import LOCAL_TZ


def _at(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ).timestamp()


def _reopens(rules: StationRules, now: float) -> float | None:
    found = reopens_at(rules, now)
    return None if found is None else found.timestamp()


DAY = Span(time(8), time(20))
NIGHT = Span(time(20), time(8))
OFFICE = StationRules(capacity=10, hours=OpeningHours((DAY, DAY, DAY, DAY, DAY, None, None)))
NIGHTS = StationRules(capacity=10, hours=OpeningHours((NIGHT,) * 7))
# 2026-12-07 is a Monday.


@pytest.mark.parametrize(
    ("rules", "now", "expected"),
    [
        (StationRules(capacity=10), _at(2026, 12, 7, 3), None),  # 24 hours
        (OFFICE, _at(2026, 12, 7, 12), None),  # open now
        (OFFICE, _at(2026, 12, 7, 6), _at(2026, 12, 7, 8)),  # later today
        (OFFICE, _at(2026, 12, 7, 21), _at(2026, 12, 8, 8)),  # tomorrow
        (OFFICE, _at(2026, 12, 11, 20), _at(2026, 12, 14, 8)),  # Friday evening: Monday
        (NIGHTS, _at(2026, 12, 7, 12), _at(2026, 12, 7, 20)),
        (NIGHTS, _at(2026, 12, 8, 7, 59), None),  # last night's hours run on
        # A date of its own (Tuesday closed), then the calendar's kind of day (Wednesday a
        # public holiday, closed): Thursday.
        (
            replace(
                OFFICE,
                hours=replace(
                    OFFICE.hours,  # type: ignore[arg-type]
                    holidays={date(2026, 12, 8): None},
                    by_kind={DayKind.PUBLIC_HOLIDAY: None},
                    calendar={date(2026, 12, 9): DayKind.PUBLIC_HOLIDAY},
                ),
            ),
            _at(2026, 12, 7, 21),
            _at(2026, 12, 10, 8),
        ),
        # An adjusted working day (调休) on a Saturday opens with its own hours.
        (
            replace(
                OFFICE,
                hours=replace(
                    OFFICE.hours,  # type: ignore[arg-type]
                    by_kind={DayKind.ADJUSTED_WORKDAY: Span(time(9), time(17))},
                    calendar={date(2026, 12, 12): DayKind.ADJUSTED_WORKDAY},
                ),
            ),
            _at(2026, 12, 11, 21),
            _at(2026, 12, 12, 9),
        ),
        # Closed every day: never within the horizon.
        (StationRules(capacity=10, hours=OpeningHours((None,) * 7)), _at(2026, 12, 7, 9), None),
    ],
)
def test_reopens_at(rules: StationRules, now: float, expected: float | None) -> None:
    assert _reopens(rules, now) == expected


def test_all_day_span_after_a_closed_day_opens_at_midnight() -> None:
    rules = StationRules(
        capacity=4, hours=OpeningHours((None, ALL_DAY, None, None, None, None, None))
    )
    assert _reopens(rules, _at(2026, 12, 7, 10)) == _at(2026, 12, 8, 0)


_SPANS = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 23), st.integers(0, 23)).map(lambda h: Span(time(h[0]), time(h[1]))),
)


@given(
    weekly=st.tuples(*[_SPANS] * 7),
    minutes=st.integers(0, 7 * 24 * 60 - 1),
)
def test_the_time_given_is_the_first_open_moment(
    weekly: tuple[Span | None, ...], minutes: int
) -> None:
    rules = StationRules(capacity=4, hours=OpeningHours(weekly))
    now = _at(2026, 12, 7, 0) + minutes * 60
    found = _reopens(rules, now)
    if found is None:
        # Open now, or closed the whole horizon.
        assert open_at(rules, now) or not any(
            open_at(rules, now + step * 900) for step in range(14 * 96)
        )
        return
    assert found > now
    assert open_at(rules, found)
    assert not any(open_at(rules, t) for t in range(int(now), int(found), 900))
