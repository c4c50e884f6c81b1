"""The staff's figures: summary, occupancy history, visit reports (and CSV), and the
overview's live stream. Thin: queries in ``server.reports.repo``, arithmetic in
``server.reports.figures``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from server.core.csv_export import csv_response, to_csv
from server.core.deps import ServicesDep, SessionDep
from server.core.localtime import local_date, utcnow
from server.reports import figures, repo
from server.reports.live import station_stream
from server.reports.models import (
    OccupancyHistory,
    PeakHoursReport,
    StationRow,
    Summary,
    VisitsReport,
)
from server.reports.overview import LiveRows
from server.reports.views import (
    ReportRangeError,
    occupancy_history,
    peak_hours_report,
    report_days,
    visits_report,
)
from server.staff.deps import AS_VIEWER, current_staff
from server.stations.deps import station_or_404
from server.stations.repo import list_stations

router = APIRouter(prefix="/api", tags=["reports"])

Day = Annotated[date | None, Query(description="a local (China) date, e.g. 2026-11-28")]


@router.get("/summary", response_model=Summary, dependencies=AS_VIEWER)
def read_summary(session: SessionDep) -> Summary:
    return repo.summary(session)


# -- occupancy history ------------------------------------------------------------------------
@router.get(
    "/stations/{station_id}/occupancy-history",
    response_model=OccupancyHistory,
    dependencies=AS_VIEWER,
)
def read_occupancy_history(
    station_id: str,
    session: SessionDep,
    range_: Annotated[
        figures.Range,
        Query(alias="range", description="24h (5-minute buckets) or 7d (hourly buckets)"),
    ] = figures.Range.DAY,
) -> OccupancyHistory:
    """The count over time, rebuilt from entries, exits and corrections."""
    station = station_or_404(session, station_id)
    return occupancy_history(session, station, range_, utcnow())


# -- reports ----------------------------------------------------------------------------------
def _days(since: date | None, until: date | None) -> tuple[date, date]:
    try:
        return report_days(since, until, local_date(utcnow()))
    except ReportRangeError as exc:
        raise HTTPException(422, str(exc)) from None


def _report_scope(
    session: SessionDep, since: date | None, until: date | None, station_id: str | None
) -> tuple[date, date]:
    """The days a report covers, after checking the range and the station (422, 404)."""
    first, last = _days(since, until)
    if station_id is not None:
        station_or_404(session, station_id)
    return first, last


PeriodQuery = Annotated[figures.Period, Query(description="day or week (weeks start Monday)")]
StationQuery = Annotated[str | None, Query(description="one station only")]


@router.get("/reports/visits", response_model=VisitsReport, dependencies=AS_VIEWER)
def read_visits(
    session: SessionDep,
    period: PeriodQuery = figures.Period.DAY,
    since: Day = None,
    until: Day = None,
    station_id: StationQuery = None,
) -> VisitsReport:
    """Visits (entries) and unique riders per station per local day or week; by default the
    last 14 days, at most 366."""
    first, last = _report_scope(session, since, until, station_id)
    return visits_report(session, period, first, last, station_id)


@router.get(
    "/reports/visits.csv",
    response_class=Response,
    dependencies=AS_VIEWER,
    responses={200: {"content": {"text/csv": {}}, "description": "the report as CSV"}},
)
def export_visits(
    session: SessionDep,
    period: PeriodQuery = figures.Period.DAY,
    since: Day = None,
    until: Day = None,
    station_id: StationQuery = None,
) -> Response:
    first, last = _report_scope(session, since, until, station_id)
    report = visits_report(session, period, first, last, station_id)
    names = {s.id: s.name for s in list_stations(session)}
    text = to_csv(
        ("period_start", "station_id", "station_name", "visits", "unique_riders"),
        (
            (r.period_start, r.station_id, names.get(r.station_id, ""), r.visits, r.unique_riders)
            for r in report.rows
        ),
    )
    return csv_response(text, f"visits-{period.value}-{first}-{last}.csv")


@router.get("/reports/peak-hours", response_model=PeakHoursReport, dependencies=AS_VIEWER)
def read_peak_hours(
    session: SessionDep,
    since: Day = None,
    until: Day = None,
    station_id: StationQuery = None,
) -> PeakHoursReport:
    """Visits by local hour of the day (Asia/Shanghai) over the days asked for."""
    first, last = _report_scope(session, since, until, station_id)
    return peak_hours_report(session, first, last, station_id)


@router.get(
    "/reports/peak-hours.csv",
    response_class=Response,
    dependencies=AS_VIEWER,
    responses={200: {"content": {"text/csv": {}}, "description": "the report as CSV"}},
)
def export_peak_hours(
    session: SessionDep,
    since: Day = None,
    until: Day = None,
    station_id: StationQuery = None,
) -> Response:
    first, last = _report_scope(session, since, until, station_id)
    report = peak_hours_report(session, first, last, station_id)
    text = to_csv(("hour", "visits"), ((h.hour, h.visits) for h in report.hours))
    return csv_response(text, f"peak-hours-{first}-{last}.csv")


# -- the live stream --------------------------------------------------------------------------
@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "server-sent events: `stations` with a JSON list of StationRow, "
            "every row first, then the rows that changed; a comment line as heartbeat",
        }
    },
)
async def stream(request: Request, services: ServicesDep) -> StreamingResponse:
    """The overview's live updates. Checks the login with a short-lived database session: the
    stream itself may stay open for minutes."""
    with Session(services.engine) as session:
        await current_staff(request, session)

    rows = LiveRows()

    def read_rows() -> list[StationRow]:
        with Session(services.engine) as session:
            return rows.read(session)

    return StreamingResponse(
        station_stream(read_rows),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
