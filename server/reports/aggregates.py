"""Visit reports counted by the database (GROUP BY local day, week or hour) instead of loading
every entry into Python: the same figures as ``server.reports.figures`` (a test compares them on
SQLite and PostgreSQL), at a cost that does not grow with the rows sent back.

Local time is the deployment's zone (``server.core.localtime``): PostgreSQL converts with its
own zone database; SQLite has none, so stored UTC times are shifted by the zone's offset, piece
by piece where the offset changes inside the report's window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, Integer, and_, case, cast, distinct, literal
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, func

from protocol.payloads import EventKind, Passage
from server.core.localtime import LOCAL_TZ, offset_changes
from server.events.models import EventRecord
from server.reports.figures import Period, VisitRow
from server.stations.models import Station


@dataclass(frozen=True, slots=True)
class Window:
    """The UTC instants a report covers, and which station (None: all)."""

    start: datetime
    end: datetime
    station_id: str | None = None


class LocalTime:
    """SQL expressions for the local day, week and hour of ``event.occurred_at``."""

    def __init__(self, dialect: str, window: Window, zone: ZoneInfo = LOCAL_TZ) -> None:
        self._postgres = dialect == "postgresql"
        self._zone = zone.key
        self._column = col(EventRecord.occurred_at)
        self._modifier: Any = None
        if not self._postgres:
            changes = offset_changes(window.start, window.end, zone)
            modifiers = [f"{int(offset.total_seconds()):+d} seconds" for _, offset in changes]
            self._modifier = literal(modifiers[0])
            if len(changes) > 1:
                later = [
                    (self._column >= at, text)
                    for (at, _), text in reversed(list(zip(changes, modifiers, strict=True)))
                ][:-1]
                self._modifier = case(*later, else_=literal(modifiers[0]))

    def day(self) -> ColumnElement[Any]:
        if self._postgres:
            return cast(func.timezone(self._zone, self._column), Date)
        return func.date(self._column, self._modifier)

    def week(self) -> ColumnElement[Any]:
        """The Monday the local week starts on."""
        if self._postgres:
            return cast(func.date_trunc("week", func.timezone(self._zone, self._column)), Date)
        return func.date(self._column, self._modifier, "weekday 0", "-6 days")

    def hour(self) -> ColumnElement[Any]:
        if self._postgres:
            return cast(func.extract("hour", func.timezone(self._zone, self._column)), Integer)
        return cast(func.strftime("%H", self._column, self._modifier), Integer)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _entries_in(window: Window) -> ColumnElement[bool]:
    condition = and_(
        col(EventRecord.kind) == EventKind.DOOR_OPENED.value,
        col(EventRecord.passage) == Passage.ENTRY.value,
        col(EventRecord.occurred_at) >= window.start,
        col(EventRecord.occurred_at) < window.end,
    )
    if window.station_id is not None:
        condition = and_(condition, col(EventRecord.station_id) == window.station_id)
    return condition


def _local(session: Session, window: Window) -> LocalTime:
    return LocalTime(session.get_bind().dialect.name, window)


def visit_rows(session: Session, window: Window, period: Period) -> list[VisitRow]:
    """Visits and distinct riders per station and local day or week, as
    ``figures.visits_by_period`` counts them."""
    local = _local(session, window)
    start = local.day() if period is Period.DAY else local.week()
    statement = (
        sql_select(
            col(EventRecord.station_id),
            start.label("period_start"),
            func.count(),
            func.count(distinct(col(EventRecord.rider_id))),
        )
        .where(_entries_in(window))
        .group_by(col(EventRecord.station_id), start)
        .order_by(col(EventRecord.station_id), start)
    )
    return [
        VisitRow(
            station_id=station_id,
            period_start=_as_date(period_start),
            visits=int(visits),
            unique_riders=int(riders),
        )
        for station_id, period_start, visits, riders in session.connection().execute(statement)
    ]


def visit_totals(session: Session, window: Window) -> tuple[int, int]:
    """Visits and distinct riders over the whole window."""
    statement = sql_select(func.count(), func.count(distinct(col(EventRecord.rider_id)))).where(
        _entries_in(window)
    )
    visits, riders = session.connection().execute(statement).one()
    return int(visits), int(riders)


def visits_by_hour(session: Session, window: Window) -> list[int]:
    """Visits by local hour of the day, 0 to 23."""
    hour = _local(session, window).hour()
    statement = sql_select(hour, func.count()).where(_entries_in(window)).group_by(hour)
    hours = [0] * 24
    for at, visits in session.connection().execute(statement):
        hours[int(at)] = int(visits)
    return hours


def station_names(session: Session, station_ids: Sequence[str]) -> dict[str, str]:
    """Names of the stations a report shows, in batches (SQLite caps a query's parameters)."""
    names: dict[str, str] = {}
    wanted = sorted(set(station_ids))
    for first in range(0, len(wanted), 5000):
        batch = wanted[first : first + 5000]
        statement = sql_select(col(Station.id), col(Station.name)).where(col(Station.id).in_(batch))
        names.update({sid: name for sid, name in session.connection().execute(statement)})
    return names
