"""Read endpoints of the staff dashboard: events (and CSV), rider search, occupancy history,
visit reports (and CSV), and the overview's live stream. Thin: queries in
``server.dashboard_crud``, arithmetic in ``server.reports``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from protocol.payloads import EventKind
from server import crud, dashboard_crud, reports
from server.api.deps import AS_VIEWER, ServicesDep, SessionDep, current_staff
from server.dashboard_models import (
    EventPage,
    EventPublic,
    OccupancyHistory,
    PeakHoursReport,
    RiderPage,
    StationRow,
    VisitsReport,
)
from server.dashboard_views import (
    ReportRangeError,
    occupancy_history,
    peak_hours_report,
    report_days,
    visits_report,
)
from server.live import station_stream
from server.models import EventRecord, RiderPublic, Station, utcnow

router = APIRouter(prefix="/api", tags=["dashboard"])

Limit = Annotated[int, Query(ge=1, le=200, description="rows per page, 1 to 200")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip")]
When = Annotated[
    datetime | None,
    Query(description="ISO 8601 time, e.g. 2026-11-28T08:00:00+08:00; without a zone: China time"),
]
Day = Annotated[date | None, Query(description="a local (China) date, e.g. 2026-11-28")]


def _station(session: Session, station_id: str) -> Station:
    station = crud.get_station(session, station_id=station_id)
    if station is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no station {station_id!r}")
    return station


def _aware(value: datetime | None) -> datetime | None:
    """In UTC, as stored (SQLite keeps no zone: comparing another zone's wall time is wrong)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=reports.LOCAL)
    return value.astimezone(UTC)


def _time_window(
    since: datetime | None, until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and since >= until:
        raise HTTPException(422, "'since' must be earlier than 'until'")
    return since, until


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- events -----------------------------------------------------------------------------------
@router.get("/events", response_model=EventPage, dependencies=AS_VIEWER)
def list_events(
    session: SessionDep,
    station_id: str | None = None,
    kind: EventKind | None = None,
    since: When = None,
    until: When = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> EventPage:
    """The usage log, newest first: entries, exits, refusals, alarms, commands."""
    since, until = _time_window(since, until)
    if station_id is not None:
        _station(session, station_id)
    rows, total = dashboard_crud.list_events(
        session,
        station_id=station_id,
        kind=kind.value if kind else None,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return EventPage(
        items=[EventPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


EVENT_CSV_HEADER = (
    "occurred_at",
    "station_id",
    "kind",
    "passage",
    "rider_id",
    "reason",
    "decided_by",
    "alarm",
    "detail",
    "seq",
    "event_id",
)


def _event_cells(e: EventRecord) -> tuple[object, ...]:
    return (
        reports.as_local(e.occurred_at),
        e.station_id,
        e.kind,
        e.passage,
        e.rider_id,
        e.reason,
        e.decided_by,
        e.alarm,
        e.detail,
        e.seq,
        e.event_id,
    )


@router.get(
    "/events.csv",
    response_class=Response,
    dependencies=AS_VIEWER,
    responses={200: {"content": {"text/csv": {}}, "description": "the events as CSV"}},
)
def export_events(
    session: SessionDep,
    station_id: str | None = None,
    kind: EventKind | None = None,
    since: When = None,
    until: When = None,
) -> Response:
    """The same filters as ``/api/events``, oldest first, at most 100,000 rows, times in China
    time."""
    since, until = _time_window(since, until)
    if station_id is not None:
        _station(session, station_id)
    rows = dashboard_crud.export_events(
        session, station_id=station_id, kind=kind.value if kind else None, since=since, until=until
    )
    name = f"events-{station_id or 'all'}.csv"
    return _csv(reports.to_csv(EVENT_CSV_HEADER, (_event_cells(e) for e in rows)), name)


# -- riders -----------------------------------------------------------------------------------
@router.get("/riders", response_model=RiderPage, dependencies=AS_VIEWER)
def search_riders(
    session: SessionDep,
    q: Annotated[str, Query(max_length=80, description="part of a rider id or name")] = "",
    limit: Limit = 50,
    offset: Offset = 0,
) -> RiderPage:
    rows, total = dashboard_crud.search_riders(session, q=q.strip(), limit=limit, offset=offset)
    return RiderPage(
        items=[RiderPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


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
        reports.Range,
        Query(alias="range", description="24h (5-minute buckets) or 7d (hourly buckets)"),
    ] = reports.Range.DAY,
) -> OccupancyHistory:
    """The count over time, rebuilt from entries, exits and corrections."""
    station = _station(session, station_id)
    return occupancy_history(session, station, range_, utcnow())


# -- reports ----------------------------------------------------------------------------------
def _days(since: date | None, until: date | None) -> tuple[date, date]:
    try:
        return report_days(since, until, reports.local_date(datetime.now(UTC)))
    except ReportRangeError as exc:
        raise HTTPException(422, str(exc)) from None


def _report_scope(
    session: SessionDep, since: date | None, until: date | None, station_id: str | None
) -> tuple[date, date]:
    """The days a report covers, after checking the range and the station (422, 404)."""
    first, last = _days(since, until)
    if station_id is not None:
        _station(session, station_id)
    return first, last


PeriodQuery = Annotated[reports.Period, Query(description="day or week (weeks start Monday)")]
StationQuery = Annotated[str | None, Query(description="one station only")]


@router.get("/reports/visits", response_model=VisitsReport, dependencies=AS_VIEWER)
def read_visits(
    session: SessionDep,
    period: PeriodQuery = reports.Period.DAY,
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
    period: PeriodQuery = reports.Period.DAY,
    since: Day = None,
    until: Day = None,
    station_id: StationQuery = None,
) -> Response:
    first, last = _report_scope(session, since, until, station_id)
    report = visits_report(session, period, first, last, station_id)
    names = {s.id: s.name for s in crud.list_stations(session)}
    text = reports.to_csv(
        ("period_start", "station_id", "station_name", "visits", "unique_riders"),
        (
            (r.period_start, r.station_id, names.get(r.station_id, ""), r.visits, r.unique_riders)
            for r in report.rows
        ),
    )
    return _csv(text, f"visits-{period.value}-{first}-{last}.csv")


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
    text = reports.to_csv(("hour", "visits"), ((h.hour, h.visits) for h in report.hours))
    return _csv(text, f"peak-hours-{first}-{last}.csv")


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

    rows = dashboard_crud.LiveRows()

    def read_rows() -> list[StationRow]:
        with Session(services.engine) as session:
            return rows.read(session)

    return StreamingResponse(
        station_stream(read_rows),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
