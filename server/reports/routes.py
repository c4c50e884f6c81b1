"""The staff's figures: summary, occupancy history, visit reports (and CSV), and the
overview's live stream. Thin: queries in ``server.reports.repo``, arithmetic in
``server.reports.figures``."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from protocol.topics import STATION_ID_PATTERN
from server.core.api_errors import ApiError
from server.core.csv_export import csv_response, to_csv
from server.core.deps import ServicesDep, SessionDep
from server.core.errors import ErrorCode
from server.core.localtime import local_date, utcnow
from server.reports import figures, repo
from server.reports.aggregates import station_names
from server.reports.listing import StationQuery, station_page
from server.reports.live import MAX_STREAM_STATIONS, LiveFeed
from server.reports.models import (
    OccupancyHistory,
    PeakHoursReport,
    Summary,
    VisitsReport,
)
from server.reports.ranges import ReportRangeError, report_days
from server.reports.views import occupancy_history, peak_hours_report, visits_report
from server.staff.deps import AS_VIEWER, DECLARES_LOGIN, staff_session
from server.stations.deps import station_or_404

router = APIRouter(prefix="/api", tags=["reports"])

STATION_ID = re.compile(STATION_ID_PATTERN)

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
        raise ApiError.of(422, exc) from None


def _report_scope(
    session: SessionDep, since: date | None, until: date | None, station_id: str | None
) -> tuple[date, date]:
    """The days a report covers, after checking the range and the station (422, 404)."""
    first, last = _days(since, until)
    if station_id is not None:
        station_or_404(session, station_id)
    return first, last


PeriodQuery = Annotated[figures.Period, Query(description="day or week (weeks start Monday)")]
OneStation = Annotated[str | None, Query(description="one station only")]


@router.get("/reports/visits", response_model=VisitsReport, dependencies=AS_VIEWER)
def read_visits(
    session: SessionDep,
    period: PeriodQuery = figures.Period.DAY,
    since: Day = None,
    until: Day = None,
    station_id: OneStation = None,
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
    station_id: OneStation = None,
) -> Response:
    first, last = _report_scope(session, since, until, station_id)
    report = visits_report(session, period, first, last, station_id)
    names = station_names(session, [r.station_id for r in report.rows])
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
    station_id: OneStation = None,
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
    station_id: OneStation = None,
) -> Response:
    first, last = _report_scope(session, since, until, station_id)
    report = peak_hours_report(session, first, last, station_id)
    text = to_csv(("hour", "visits"), ((h.hour, h.visits) for h in report.hours))
    return csv_response(text, f"peak-hours-{first}-{last}.csv")


# -- the live stream --------------------------------------------------------------------------
def get_live_feed(request: Request) -> LiveFeed:
    feed: LiveFeed = request.app.state.live_feed
    return feed


def _stream_stations(ids: str) -> list[str]:
    found = sorted({part.strip() for part in ids.split(",") if part.strip()})
    if len(found) > MAX_STREAM_STATIONS:
        raise ApiError(422, ErrorCode.STREAM_TOO_MANY, n=MAX_STREAM_STATIONS)
    if any(not STATION_ID.fullmatch(station_id) for station_id in found):
        raise ApiError(422, ErrorCode.STREAM_BAD_IDS)
    return found


@router.get(
    "/stream",
    response_class=StreamingResponse,
    dependencies=DECLARES_LOGIN,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "server-sent events: `stations` with a JSON list of StationRow, "
            "every row first, then the rows that changed; `summary` with StationCounts when "
            "asked; a comment line as heartbeat",
        }
    },
)
async def stream(
    request: Request,
    services: ServicesDep,
    feed: Annotated[LiveFeed, Depends(get_live_feed)],
    ids: Annotated[
        str | None,
        Query(
            max_length=MAX_STREAM_STATIONS * 64,
            description="the stations to follow, comma-separated (at most 200); "
            "by default the first page of the overview; empty: none (the counts only)",
        ),
    ] = None,
    summary: Annotated[bool, Query(description="also send the station counts")] = False,
) -> StreamingResponse:
    """The overview's live updates: one poller per server process feeds every open stream.
    Checks the login with a short-lived database session (in a worker thread, off the event
    loop): the stream itself may stay open for minutes."""

    def check_login_and_page() -> list[str]:
        with Session(services.engine) as session:
            staff_session(request, session)
            if ids is not None:
                return _stream_stations(ids)
            rows, _ = station_page(
                session, query=StationQuery(), limit=MAX_STREAM_STATIONS, offset=0
            )
            return [station.id for station, _ in rows]

    followed = await anyio.to_thread.run_sync(check_login_and_page)
    return StreamingResponse(
        feed.stream(followed, summary=summary),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
