"""Reading the usage log (events) for staff, and storing count corrections."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, func, select

from protocol.payloads import EventKind
from server.audit.repo import audit
from server.core.localtime import as_utc
from server.events.models import CountCorrection, EventRecord
from server.events.occupancy import ChangeSource, OccupancyChange

_AUDIT_ACTION = {
    ChangeSource.STAFF: "occupancy_corrected",
    ChangeSource.QUIET_HOUR: "occupancy_reconciled",
}

# Rows fetched at a time by an export (PostgreSQL: through a server-side cursor).
EXPORT_BATCH = 1000


def _event_filter(
    *,
    station_id: str | None,
    kind: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if station_id is not None:
        where.append(col(EventRecord.station_id) == station_id)
    if kind is not None:
        where.append(col(EventRecord.kind) == kind)
    if since is not None:
        where.append(col(EventRecord.occurred_at) >= since)
    if until is not None:
        where.append(col(EventRecord.occurred_at) < until)
    return where


def list_events(
    session: Session,
    *,
    station_id: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[EventRecord], int]:
    """A page of events, newest first, and how many match in all."""
    where = _event_filter(station_id=station_id, kind=kind, since=since, until=until)
    total = session.exec(select(func.count()).select_from(EventRecord).where(*where)).one()
    statement = (
        select(EventRecord)
        .where(*where)
        .order_by(col(EventRecord.occurred_at).desc(), col(EventRecord.seq).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(statement)), total


def export_events(
    engine: Engine,
    *,
    station_id: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Matching events oldest first (a log reads top to bottom), every one of them, read
    ``EXPORT_BATCH`` rows at a time on a connection of its own (the export outlives the
    request's session): memory stays the same for ten rows or ten million."""
    where = _event_filter(station_id=station_id, kind=kind, since=since, until=until)
    statement = (
        sql_select(*(col(getattr(EventRecord, name)) for name in EXPORT_COLUMNS))
        .where(*where)
        .order_by(col(EventRecord.occurred_at), col(EventRecord.seq))
    )
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True).execute(statement)
        for batch in result.yield_per(EXPORT_BATCH).partitions():
            yield from (tuple(row) for row in batch)


EXPORT_COLUMNS = (
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


def recent_events(
    session: Session, *, station_id: str | None = None, limit: int = 20
) -> list[EventRecord]:
    statement = select(EventRecord)
    if station_id is not None:
        statement = statement.where(EventRecord.station_id == station_id)
    statement = statement.order_by(col(EventRecord.occurred_at).desc()).limit(limit)
    return list(session.exec(statement))


DOOR_ACTIVITY = (EventKind.DOOR_OPENED, EventKind.DOOR_CLOSED, EventKind.EXIT_PRESSED)


def last_door_activity(session: Session, *, station_id: str) -> datetime | None:
    """When the station's door was last opened, closed or its exit button pressed."""
    at = session.exec(
        select(func.max(EventRecord.occurred_at)).where(
            EventRecord.station_id == station_id,
            col(EventRecord.kind).in_([kind.value for kind in DOOR_ACTIVITY]),
        )
    ).one()
    return as_utc(at) if at is not None else None


def record_correction(session: Session, *, change: OccupancyChange) -> CountCorrection:
    """A count set by staff or by the quiet hour, with the audit entry that tells staff
    (before and after, and for the quiet hour its evidence), in the caller's transaction."""
    correction = CountCorrection(
        station_id=change.station_id,
        at=change.at,
        before=change.before,
        after=change.after,
        source=change.source.value,
        actor=change.by,
        reason=change.reason,
    )
    session.add(correction)
    staff = change.source is ChangeSource.STAFF
    audit(
        session,
        actor=change.by,
        action=_AUDIT_ACTION[change.source],
        at=change.at,
        station_id=change.station_id,
        # The quiet hour's reason is said in words from its evidence (server.audit.wording).
        reason=change.reason if staff else "",
        before={"occupancy": change.before},
        after={"occupancy": change.after, **change.evidence},
    )
    return correction
