"""The dashboard's figures assembled from the database for one request: shared by the JSON
API (``server.reports.routes``) and the pages."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session

from server.reports import figures, repo
from server.reports.models import (
    OccupancyHistory,
    OccupancyPointPublic,
    PeakHour,
    PeakHoursReport,
    VisitRowPublic,
    VisitsReport,
)
from server.stations.models import Station

MAX_REPORT_DAYS = 366
DEFAULT_REPORT_DAYS = 14


class ReportRangeError(ValueError):
    """A report period a person got wrong; the message says how."""


def occupancy_history(
    session: Session, station: Station, range_: figures.Range, now: datetime
) -> OccupancyHistory:
    since, until = figures.history_window(range_, now)
    changes = repo.occupancy_changes(session, station_id=station.id, since=since, until=now)
    start, steps = figures.occupancy_steps(
        current=station.occupancy, changes=changes, since=since, until=now
    )
    points = figures.bucket_occupancy(
        start_value=start, steps=steps, since=since, until=until, step=range_.step
    )
    return OccupancyHistory(
        station_id=station.id,
        range=range_.value,
        step_s=int(range_.step.total_seconds()),
        capacity=station.capacity,
        since=since,
        until=until,
        points=[
            OccupancyPointPublic(start=p.start, occupancy=p.occupancy, peak=p.peak) for p in points
        ],
    )


def report_days(since: date | None, until: date | None, today: date) -> tuple[date, date]:
    """The local days a report covers: by default the last 14 up to today."""
    last = until or today
    first = since or last - timedelta(days=DEFAULT_REPORT_DAYS - 1)
    if first > last:
        raise ReportRangeError("'since' must not be after 'until'")
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise ReportRangeError(f"a report covers at most {MAX_REPORT_DAYS} days")
    return first, last


def load_entries(
    session: Session, first: date, last: date, station_id: str | None
) -> list[figures.Entry]:
    """The entries of the local days ``first`` to ``last``: read once, then counted as
    several reports (a page shows days, weeks and hours of the same entries)."""
    start, end = figures.local_day_bounds(first, last)
    return repo.entries(session, since=start, until=end, station_id=station_id)


def visits_report(
    session: Session,
    period: figures.Period,
    first: date,
    last: date,
    station_id: str | None,
    found: list[figures.Entry] | None = None,
) -> VisitsReport:
    if found is None:
        found = load_entries(session, first, last, station_id)
    rows = figures.visits_by_period(found, period)
    return VisitsReport(
        period=period.value,
        since=first,
        until=last,
        rows=[VisitRowPublic.model_validate(r, from_attributes=True) for r in rows],
        total_visits=len(found),
        unique_riders=figures.unique_riders(found),
    )


def peak_hours_report(
    session: Session,
    first: date,
    last: date,
    station_id: str | None,
    found: list[figures.Entry] | None = None,
) -> PeakHoursReport:
    if found is None:
        found = load_entries(session, first, last, station_id)
    hours = figures.peak_hours(found)
    return PeakHoursReport(
        since=first,
        until=last,
        station_id=station_id,
        hours=[PeakHour(hour=h, visits=v) for h, v in enumerate(hours)],
    )
