"""Database reads for the staff dashboard, keyword-only; the arithmetic is in server.reports."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, func, select

from protocol.payloads import EventKind, Passage
from server import crud
from server.dashboard_models import StationRow
from server.models import AuditEntry, EventRecord, Rider, as_utc
from server.reports import Change, CountSet, Entry, Passing

# A CSV export reads at most this many rows: a year of a busy station, not the whole nation.
CSV_MAX_ROWS = 100_000
# How much older than a station's newest stored event a newly stored one may be and still be
# noticed as its latest entry by a running live stream (a page reload always sees it).
LATE_EVENT_MARGIN = timedelta(hours=1)
_CORRECTION_ACTIONS = ("occupancy_corrected", "occupancy_reconciled")
_BEFORE_AFTER = re.compile(r"^(\d+) -> (\d+)$")


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
    session: Session,
    *,
    station_id: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[EventRecord]:
    """Matching events oldest first (a log reads top to bottom), at most CSV_MAX_ROWS."""
    where = _event_filter(station_id=station_id, kind=kind, since=since, until=until)
    statement = (
        select(EventRecord)
        .where(*where)
        .order_by(col(EventRecord.occurred_at), col(EventRecord.seq))
        .limit(CSV_MAX_ROWS)
    )
    return list(session.exec(statement))


def search_riders(
    session: Session, *, q: str = "", limit: int = 50, offset: int = 0
) -> tuple[list[Rider], int]:
    """Riders whose id or display name contains ``q`` (any case), newest first."""
    statement = select(Rider)
    counting = select(func.count()).select_from(Rider)
    if q:
        pattern = (
            "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        match = or_(
            func.lower(Rider.id).like(pattern, escape="\\"),
            func.lower(Rider.display_name).like(pattern, escape="\\"),
        )
        statement, counting = statement.where(match), counting.where(match)
    total = session.exec(counting).one()
    statement = statement.order_by(col(Rider.created_at).desc(), col(Rider.id)).offset(offset)
    return list(session.exec(statement.limit(limit))), total


def _entry_or_exit() -> ColumnElement[bool]:
    return and_(
        col(EventRecord.kind) == EventKind.DOOR_OPENED.value,
        col(EventRecord.passage).in_([Passage.ENTRY.value, Passage.EXIT.value]),
    )


def occupancy_changes(
    session: Session, *, station_id: str, since: datetime, until: datetime
) -> list[Change]:
    """Entries, exits and count corrections of one station in the window."""
    changes: list[Change] = []
    events = session.exec(
        select(EventRecord.occurred_at, EventRecord.passage).where(
            EventRecord.station_id == station_id,
            _entry_or_exit(),
            col(EventRecord.occurred_at) > since,
            col(EventRecord.occurred_at) <= until,
        )
    )
    for at, passage in events:
        changes.append(Passing(at=as_utc(at), delta=1 if passage == Passage.ENTRY.value else -1))
    audits = session.exec(
        select(AuditEntry.at, AuditEntry.detail).where(
            AuditEntry.station_id == station_id,
            col(AuditEntry.action).in_(_CORRECTION_ACTIONS),
            col(AuditEntry.at) > since,
            col(AuditEntry.at) <= until,
        )
    )
    for at, detail in audits:
        found = _BEFORE_AFTER.match(detail)
        if found:
            before, after = int(found[1]), int(found[2])
            changes.append(CountSet(at=as_utc(at), before=before, after=after))
    return changes


def entries(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    station_id: str | None = None,
) -> list[Entry]:
    """Every counted entry in the window (``door_opened`` with ``passage=entry``)."""
    statement = select(EventRecord.station_id, EventRecord.occurred_at, EventRecord.rider_id).where(
        EventRecord.kind == EventKind.DOOR_OPENED.value,
        EventRecord.passage == Passage.ENTRY.value,
        col(EventRecord.occurred_at) >= since,
        col(EventRecord.occurred_at) < until,
    )
    if station_id is not None:
        statement = statement.where(EventRecord.station_id == station_id)
    return [
        Entry(station_id=sid, at=as_utc(at), rider_id=rider)
        for sid, at, rider in session.exec(statement)
    ]


def last_entries(
    session: Session,
    *,
    station_ids: Sequence[str] | None = None,
    after: datetime | None = None,
) -> dict[str, datetime]:
    """The time of each station's latest entry (of the given stations, later than ``after``)."""
    statement = select(EventRecord.station_id, func.max(EventRecord.occurred_at)).where(
        EventRecord.kind == EventKind.DOOR_OPENED.value,
        EventRecord.passage == Passage.ENTRY.value,
    )
    if station_ids is not None:
        statement = statement.where(col(EventRecord.station_id).in_(station_ids))
    if after is not None:
        statement = statement.where(col(EventRecord.occurred_at) > after)
    rows = session.exec(statement.group_by(EventRecord.station_id)).all()
    return {sid: as_utc(at) for sid, at in rows if at is not None}


def station_rows(
    session: Session,
    *,
    station_ids: Sequence[str] | None = None,
    last_entry: dict[str, datetime] | None = None,
) -> list[StationRow]:
    """What the overview shows of every station (or of the given ones); ``last_entry`` when
    the caller already knows it (the live stream keeps it between polls)."""
    alarms = crud.active_alarm_counts(session)
    stations = crud.list_stations(session)
    if station_ids is not None:
        wanted = set(station_ids)
        stations = [s for s in stations if s.id in wanted]
    if last_entry is None:
        last_entry = last_entries(session, station_ids=station_ids)
    return [
        StationRow(
            id=s.id,
            name=s.name,
            capacity=s.capacity,
            occupancy=s.occupancy,
            online=s.online,
            online_changed_at=as_utc(s.online_changed_at) if s.online_changed_at else None,
            door_phase=s.door_phase,
            lockdown=s.lockdown,
            maintenance=s.maintenance,
            active_alarms=alarms.get(s.id, 0),
            last_entry_at=last_entry.get(s.id),
        )
        for s in stations
    ]


class LiveRows:
    """Overview rows for one live stream, polled every second. The latest entry per station
    needs a scan of the event table: done in full once, then only for stations whose latest
    event is newer than at the previous poll, and only over those newer events."""

    def __init__(self) -> None:
        self._last_event: dict[str, datetime | None] = {}
        self._last_entry: dict[str, datetime] | None = None

    def read(self, session: Session) -> list[StationRow]:
        seen = {
            s.id: as_utc(s.last_event_at) if s.last_event_at else None
            for s in crud.list_stations(session)
        }
        if self._last_entry is None:
            self._last_entry = last_entries(session)
        else:
            for station_id, latest in seen.items():
                before = self._last_event.get(station_id)
                if latest is None or latest == before:
                    continue
                # A re-sent gap can store an event a little older than the newest one seen.
                after = before - LATE_EVENT_MARGIN if before is not None else None
                found = last_entries(session, station_ids=[station_id], after=after)
                if station_id in found:
                    known = self._last_entry.get(station_id)
                    self._last_entry[station_id] = max(
                        found[station_id], known or found[station_id]
                    )
        self._last_event = seen
        return station_rows(session, last_entry=self._last_entry)
