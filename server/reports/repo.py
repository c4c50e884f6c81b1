"""Database reads behind the staff's figures, keyword-only; the arithmetic is in
``server.reports.figures``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, func, select

from protocol.payloads import EventKind, Passage
from server.core.localtime import as_utc
from server.events.models import CountCorrection, EventRecord
from server.reports import tally
from server.reports.figures import Change, CountSet, Entry, Passing
from server.reports.listing import station_counts
from server.reports.models import Summary


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
    corrections = session.exec(
        select(CountCorrection.at, CountCorrection.before, CountCorrection.after).where(
            CountCorrection.station_id == station_id,
            col(CountCorrection.at) > since,
            col(CountCorrection.at) <= until,
        )
    )
    for at, before, after in corrections:
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


def summary(session: Session) -> Summary:
    """The station counts (one aggregate over the stations) and the stored totals, which the
    writers keep as they store (``server.reports.tally``): neither grows with the history."""
    stored = tally.totals(session)
    return Summary(
        **station_counts(session).model_dump(),
        events_stored=stored.events,
        entries=stored.entries,
        exits=stored.exits,
        denials=stored.denials,
        decisions=stored.decisions,
    )
