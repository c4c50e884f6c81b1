"""The usage log, for staff: events page by page and as CSV; and correcting a station's count
(audited, with the before and after stored as values)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from protocol.payloads import EventKind
from server.core.api_errors import ApiError
from server.core.csv_export import csv_chunks, csv_stream
from server.core.deps import Limit, Offset, ServicesDep, SessionDep
from server.core.errors import ErrorCode
from server.core.localtime import LOCAL_TZ, as_local, utcnow
from server.events import repo
from server.events.models import EventPage, EventPublic, OccupancyCorrection
from server.events.occupancy import CorrectionError, correct
from server.events.repo import record_correction
from server.events.stays import end_stays
from server.staff.deps import AS_VIEWER, OperatorDep
from server.stations.deps import station_or_404
from server.stations.models import StationPublic

router = APIRouter(prefix="/api", tags=["events"])

When = Annotated[
    datetime | None,
    Query(description="ISO 8601 time, e.g. 2026-11-28T08:00:00+08:00; without a zone: China time"),
]


CORRECTION_ERRORS = {
    CorrectionError.NEGATIVE_TARGET: ErrorCode.CORRECTION_NEGATIVE_TARGET,
    CorrectionError.NO_STAFF: ErrorCode.CORRECTION_NO_STAFF,
    CorrectionError.EMPTY_REASON: ErrorCode.CORRECTION_EMPTY_REASON,
}


def _aware(value: datetime | None) -> datetime | None:
    """In UTC, as stored (SQLite keeps no zone: comparing another zone's wall time is wrong)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value.astimezone(UTC)


def _time_window(
    since: datetime | None, until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and since >= until:
        raise ApiError(422, ErrorCode.TIME_RANGE_REVERSED)
    return since, until


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
        station_or_404(session, station_id)
    rows, total = repo.list_events(
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


def _event_cells(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (as_local(row[0]), *row[1:])  # China time


@router.get(
    "/events.csv",
    response_class=StreamingResponse,
    dependencies=AS_VIEWER,
    responses={200: {"content": {"text/csv": {}}, "description": "the events as CSV"}},
)
def export_events(
    session: SessionDep,
    services: ServicesDep,
    station_id: str | None = None,
    kind: EventKind | None = None,
    since: When = None,
    until: When = None,
) -> StreamingResponse:
    """The same filters as ``/api/events``, oldest first, every matching event (streamed as it
    is read), times in China time."""
    since, until = _time_window(since, until)
    if station_id is not None:
        station_or_404(session, station_id)
    rows = repo.export_events(
        services.engine,
        station_id=station_id,
        kind=kind.value if kind else None,
        since=since,
        until=until,
    )
    name = f"events-{station_id or 'all'}.csv"
    return csv_stream(csv_chunks(repo.EXPORT_COLUMNS, map(_event_cells, rows)), name)


@router.post("/stations/{station_id}/occupancy", response_model=StationPublic)
def correct_occupancy(
    station_id: str, request: OccupancyCorrection, session: SessionDep, staff: OperatorDep
) -> StationPublic:
    station = station_or_404(session, station_id)
    now = utcnow()
    outcome = correct(
        station.occupancy,
        station_id=station_id,
        target=request.target,
        by=staff.user.username,
        reason=request.reason,
        at=now,
    )
    if isinstance(outcome, CorrectionError):
        raise ApiError(422, CORRECTION_ERRORS[outcome])
    station.occupancy = outcome.after
    if outcome.after == 0:
        end_stays(session, station_id=station_id, at=now)
    record_correction(session, change=outcome)
    session.add(station)
    session.commit()
    session.refresh(station)
    return StationPublic.model_validate(station)
