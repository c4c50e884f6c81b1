"""The figures staff look at: occupancy over time, visits per period, peak hours. No I/O.

Everything here takes plain values (times, counts, rows already read) so that the arithmetic
is tested without a database; ``server.reports.repo`` reads the rows, the routes glue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from server.core.localtime import LOCAL_TZ, as_local, local_date


# -- occupancy over time ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Passing:
    """Somebody went through the door: +1 entry, -1 exit."""

    at: datetime
    delta: int


@dataclass(frozen=True, slots=True)
class CountSet:
    """The count was set from ``before`` to ``after`` (a staff correction, the quiet hour)."""

    at: datetime
    before: int
    after: int


Change = Passing | CountSet


@dataclass(frozen=True, slots=True)
class OccupancyPoint:
    """One chart bucket: the count at its end and the highest count during it."""

    start: datetime
    occupancy: int
    peak: int


def _undo(change: Change, after: int) -> int:
    if isinstance(change, CountSet):
        return change.before
    return max(0, after - change.delta)


def occupancy_steps(
    *, current: int, changes: Iterable[Change], since: datetime, until: datetime
) -> tuple[int, list[tuple[datetime, int]]]:
    """The count at ``since`` and every (time, count after) step up to ``until``.

    Walks back from the count the server holds now instead of forward from the station's
    first event: the cost stays proportional to the window, and the chart always ends at the
    number the overview shows. A count clamped at zero on the way (an exit nobody was counted
    in for) is the one case where this can differ from a forward replay; corrections are
    recorded with their value before, so they are undone exactly.
    """
    inside = sorted((c for c in changes if since < c.at <= until), key=lambda c: c.at)
    value = current
    steps: list[tuple[datetime, int]] = []
    for change in reversed(inside):
        steps.append((change.at, value))
        value = _undo(change, value)
    steps.reverse()
    return value, steps


def bucket_occupancy(
    *,
    start_value: int,
    steps: Sequence[tuple[datetime, int]],
    since: datetime,
    until: datetime,
    step: timedelta,
) -> list[OccupancyPoint]:
    """Fixed buckets from ``since`` to ``until``, each with its closing and its peak count, so a
    short visit between two samples still shows on the chart."""
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    points: list[OccupancyPoint] = []
    value, index, start = start_value, 0, since
    while start < until:
        end = min(start + step, until)
        peak = value
        while index < len(steps) and steps[index][0] <= end:
            value = steps[index][1]
            peak = max(peak, value)
            index += 1
        points.append(OccupancyPoint(start=start, occupancy=value, peak=peak))
        start = end
    return points


class Range(StrEnum):
    DAY = "24h"
    WEEK = "7d"

    @property
    def span(self) -> timedelta:
        return timedelta(hours=24) if self is Range.DAY else timedelta(days=7)

    @property
    def step(self) -> timedelta:
        # 288 five-minute or 168 hourly buckets: enough detail, a small chart.
        return timedelta(minutes=5) if self is Range.DAY else timedelta(hours=1)


def history_window(range_: Range, now: datetime) -> tuple[datetime, datetime]:
    """The window ending now, starting on a bucket boundary so charts line up on refresh."""
    step_s = int(range_.step.total_seconds())
    end = datetime.fromtimestamp((int(now.timestamp()) // step_s + 1) * step_s, UTC)
    return end - range_.span, min(end, now)


# -- visits -----------------------------------------------------------------------------------
class Period(StrEnum):
    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True, slots=True)
class Entry:
    """One counted entry (a ``door_opened`` event with ``passage=entry``)."""

    station_id: str
    at: datetime
    rider_id: str | None


@dataclass(frozen=True, slots=True)
class VisitRow:
    station_id: str
    period_start: date  # local date; a week starts on Monday
    visits: int
    unique_riders: int


def period_start(day: date, period: Period) -> date:
    return day if period is Period.DAY else day - timedelta(days=day.weekday())


def visits_by_period(entries: Iterable[Entry], period: Period) -> list[VisitRow]:
    """Visits (entries) and distinct riders per station and local day or week. An entry with
    no rider (free entry in an emergency) counts as a visit but not as a rider."""
    visits: dict[tuple[str, date], int] = defaultdict(int)
    riders: dict[tuple[str, date], set[str]] = defaultdict(set)
    for entry in entries:
        key = (entry.station_id, period_start(local_date(entry.at), period))
        visits[key] += 1
        if entry.rider_id is not None:
            riders[key].add(entry.rider_id)
    return [
        VisitRow(
            station_id=key[0], period_start=key[1], visits=count, unique_riders=len(riders[key])
        )
        for key, count in sorted(visits.items())
    ]


def totals_by_period(rows: Iterable[VisitRow]) -> list[tuple[date, int]]:
    """Visits of all stations per period, for the chart ("daily visits served")."""
    totals: dict[date, int] = defaultdict(int)
    for row in rows:
        totals[row.period_start] += row.visits
    return sorted(totals.items())


def unique_riders(entries: Iterable[Entry]) -> int:
    return len({e.rider_id for e in entries if e.rider_id is not None})


def peak_hours(entries: Iterable[Entry]) -> list[int]:
    """Visits by local hour of the day, 0 to 23."""
    hours = [0] * 24
    for entry in entries:
        hours[as_local(entry.at).hour] += 1
    return hours


def local_day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants from the start of local day ``first`` to the end of local day ``last``."""
    start = datetime(first.year, first.month, first.day, tzinfo=LOCAL_TZ)
    end = datetime(last.year, last.month, last.day, tzinfo=LOCAL_TZ) + timedelta(days=1)
    return start.astimezone(UTC), end.astimezone(UTC)
