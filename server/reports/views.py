"""The dashboard's figures assembled from the database for one request: shared by the JSON
API (``server.reports.routes``) and the pages."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from server.reports import aggregates, figures, repo
from server.reports.models import (
    OccupancyHistory,
    OccupancyPointPublic,
    PeakHour,
    PeakHoursReport,
    VisitRowPublic,
    VisitsReport,
)
from server.stations.models import Station


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


def report_window(first: date, last: date, station_id: str | None) -> aggregates.Window:
    """The UTC instants of the local days ``first`` to ``last``."""
    start, end = figures.local_day_bounds(first, last)
    return aggregates.Window(start=start, end=end, station_id=station_id)


def visits_report(
    session: Session,
    period: figures.Period,
    first: date,
    last: date,
    station_id: str | None,
) -> VisitsReport:
    window = report_window(first, last, station_id)
    rows = aggregates.visit_rows(session, window, period)
    total_visits, unique_riders = aggregates.visit_totals(session, window)
    return VisitsReport(
        period=period.value,
        since=first,
        until=last,
        rows=[VisitRowPublic.model_validate(r, from_attributes=True) for r in rows],
        total_visits=total_visits,
        unique_riders=unique_riders,
    )


def peak_hours_report(
    session: Session, first: date, last: date, station_id: str | None
) -> PeakHoursReport:
    hours = aggregates.visits_by_hour(session, report_window(first, last, station_id))
    return PeakHoursReport(
        since=first,
        until=last,
        station_id=station_id,
        hours=[PeakHour(hour=h, visits=v) for h, v in enumerate(hours)],
    )
