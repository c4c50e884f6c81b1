"""The dashboard's arithmetic: occupancy rebuilt from events, buckets, visits per local day and
week, peak hours, CSV cells (the charts: test_charts.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from server.core.csv_export import to_csv
from server.reports.figures import (
    CountSet,
    Entry,
    Passing,
    Period,
    Range,
    bucket_occupancy,
    history_window,
    local_day_bounds,
    occupancy_steps,
    peak_hours,
    totals_by_period,
    unique_riders,
    visits_by_period,
)

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 08:00 Monday in Shanghai


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_steps_walk_back_from_the_current_count() -> None:
    changes = [Passing(at(10), 1), Passing(at(20), 1), Passing(at(30), -1), Passing(at(-5), 1)]
    start, steps = occupancy_steps(current=3, changes=changes, since=at(0), until=at(60))
    assert start == 2  # three now, two came in and one left in the window
    assert steps == [(at(10), 3), (at(20), 4), (at(30), 3)]


def test_a_correction_is_undone_to_its_value_before() -> None:
    changes = [Passing(at(10), 1), CountSet(at(20), before=1, after=5), Passing(at(30), -1)]
    start, steps = occupancy_steps(current=4, changes=changes, since=at(0), until=at(60))
    assert (start, [v for _, v in steps]) == (0, [1, 5, 4])


def test_undoing_never_goes_below_zero() -> None:
    start, _ = occupancy_steps(current=0, changes=[Passing(at(1), 1)], since=at(0), until=at(60))
    assert start == 0


def test_buckets_keep_a_short_peak() -> None:
    steps = [(at(1), 1), (at(2), 0), (at(7), 2)]
    points = bucket_occupancy(
        start_value=0, steps=steps, since=at(0), until=at(15), step=timedelta(minutes=5)
    )
    assert [(p.occupancy, p.peak) for p in points] == [(0, 1), (2, 2), (2, 2)]
    assert [p.start for p in points] == [at(0), at(5), at(10)]
    with pytest.raises(ValueError, match="positive"):
        bucket_occupancy(start_value=0, steps=[], since=at(0), until=at(1), step=timedelta(0))


def test_history_window_is_aligned_and_ends_now() -> None:
    now = at(62.5)
    since, until = history_window(Range.DAY, now)
    assert until == now
    assert since == at(65) - timedelta(hours=24)  # 288 buckets, the last one running
    since, until = history_window(Range.WEEK, now)
    assert since == at(120) - timedelta(days=7)


def test_visits_per_local_day_and_week() -> None:
    late_sunday_utc = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # 01:00 Monday 23rd local
    entries = [
        Entry("a", late_sunday_utc, "r1"),
        Entry("a", at(60), "r1"),
        Entry("a", at(60 * 24 * 2), "r2"),  # Wednesday
        Entry("a", at(60 * 24 * 7), None),  # next Monday; free entry, no rider
        Entry("b", at(5), "r1"),
    ]
    daily = visits_by_period(entries, Period.DAY)
    assert [(r.station_id, r.period_start, r.visits, r.unique_riders) for r in daily] == [
        ("a", date(2026, 11, 23), 2, 1),
        ("a", date(2026, 11, 25), 1, 1),
        ("a", date(2026, 11, 30), 1, 0),
        ("b", date(2026, 11, 23), 1, 1),
    ]
    weekly = visits_by_period(entries, Period.WEEK)
    assert [(r.station_id, r.period_start, r.visits, r.unique_riders) for r in weekly] == [
        ("a", date(2026, 11, 23), 3, 2),
        ("a", date(2026, 11, 30), 1, 0),
        ("b", date(2026, 11, 23), 1, 1),
    ]
    assert totals_by_period(daily) == [
        (date(2026, 11, 23), 3),
        (date(2026, 11, 25), 1),
        (date(2026, 11, 30), 1),
    ]
    assert unique_riders(entries) == 2


def test_peak_hours_are_local() -> None:
    hours = peak_hours(
        [Entry("a", at(0), None), Entry("a", at(30), None), Entry("a", at(-60), None)]
    )
    assert len(hours) == 24
    assert (hours[8], hours[7], sum(hours)) == (2, 1, 3)


def test_local_day_bounds() -> None:
    start, end = local_day_bounds(date(2026, 11, 23), date(2026, 11, 24))
    assert start == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def test_csv_is_excel_friendly_and_safe() -> None:
    text = to_csv(
        ("a", "b", "c", "d"), [("=1+2", -3, None, datetime(2026, 11, 23, 0, 0, tzinfo=UTC))]
    )
    assert text.startswith("\ufeff")
    assert text.splitlines()[1] == "'=1+2,-3,,2026-11-23T08:00:00+08:00"
    assert to_csv(("名",), [("王,五",)]).endswith('"王,五"\r\n')
