"""Alarms in the database: raised (by stations' events or by the server), listed and counted
across stations, acknowledged and resolved by staff (audited)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, func, select

from server.alarms.live import AlarmPulse, NewestAlarm
from server.alarms.models import Alarm, AlarmState
from server.alerts.repo import enqueue
from server.audit.repo import audit
from server.core.errors import ConflictError, ErrorCode, NotFoundError
from server.core.localtime import as_utc
from server.stations.models import Station


@dataclass(frozen=True, slots=True)
class AlarmFilter:
    """Which alarms a list shows; None: any."""

    station_id: str | None = None
    kind: str | None = None
    state: AlarmState | None = None
    unacknowledged: bool = False  # the older API's flag: the same as state=open
    unresolved: bool = False  # open or acknowledged: still to be handled


def _where(which: AlarmFilter) -> list[Any]:
    where: list[Any] = []
    if which.station_id is not None:
        where.append(col(Alarm.station_id) == which.station_id)
    if which.kind is not None:
        where.append(col(Alarm.kind) == which.kind)
    if which.state is AlarmState.OPEN or which.unacknowledged:
        where.append(col(Alarm.acknowledged_at).is_(None))
    if which.state is AlarmState.ACKNOWLEDGED:
        where += [col(Alarm.acknowledged_at).is_not(None), col(Alarm.resolved_at).is_(None)]
    if which.state is AlarmState.RESOLVED:
        where.append(col(Alarm.resolved_at).is_not(None))
    if which.unresolved:
        where.append(col(Alarm.resolved_at).is_(None))
    return where


def list_alarms(
    session: Session,
    *,
    station_id: str | None = None,
    unacknowledged: bool = False,
    which: AlarmFilter | None = None,
    open_first: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[Alarm]:
    """Newest first; with ``open_first``, the unacknowledged ones before the rest."""
    which = which or AlarmFilter(station_id=station_id, unacknowledged=unacknowledged)
    statement = select(Alarm).where(*_where(which))
    if open_first:
        statement = statement.order_by(col(Alarm.acknowledged_at).is_(None).desc())
    statement = statement.order_by(col(Alarm.raised_at).desc(), col(Alarm.id).desc())
    return list(session.exec(statement.offset(offset).limit(limit)))


def count_alarms(session: Session, *, which: AlarmFilter) -> int:
    return session.exec(select(func.count()).select_from(Alarm).where(*_where(which))).one()


def alarm_kinds(session: Session) -> list[str]:
    """Every kind raised so far, for the console's filter."""
    return sorted(session.exec(select(Alarm.kind).distinct()).all())


def active_alarm_counts(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(Alarm.station_id, func.count())
        .where(col(Alarm.acknowledged_at).is_(None))
        .group_by(Alarm.station_id)
    ).all()
    return {station_id: count for station_id, count in rows}


def _alarm(session: Session, alarm_id: int) -> Alarm:
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFoundError(ErrorCode.NO_ALARM, id=alarm_id)
    return alarm


def acknowledge_alarm(
    session: Session, *, alarm_id: int, by: str, now: datetime, note: str = ""
) -> Alarm:
    """Seen and being handled; audited with the note."""
    alarm = _alarm(session, alarm_id)
    if alarm.acknowledged_at is not None:
        raise ConflictError(
            ErrorCode.ALARM_ALREADY_ACKNOWLEDGED, id=alarm_id, by=alarm.acknowledged_by or ""
        )
    before = alarm.state
    alarm.acknowledged_at, alarm.acknowledged_by, alarm.acknowledged_note = now, by, note
    session.add(alarm)
    _audit(session, alarm, "alarm_acknowledged", by=by, now=now, note=note, before=before)
    session.commit()
    session.refresh(alarm)
    return alarm


def resolve_alarm(session: Session, *, alarm_id: int, by: str, now: datetime, note: str) -> Alarm:
    """Handled, with a note saying how; an open alarm is acknowledged by the same stroke."""
    alarm = _alarm(session, alarm_id)
    if alarm.resolved_at is not None:
        raise ConflictError(
            ErrorCode.ALARM_ALREADY_RESOLVED, id=alarm_id, by=alarm.resolved_by or ""
        )
    before = alarm.state
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at, alarm.acknowledged_by = now, by
    alarm.resolved_at, alarm.resolved_by, alarm.resolution = now, by, note
    session.add(alarm)
    _audit(session, alarm, "alarm_resolved", by=by, now=now, note=note, before=before)
    session.commit()
    session.refresh(alarm)
    return alarm


def _audit(
    session: Session,
    alarm: Alarm,
    action: str,
    *,
    by: str,
    now: datetime,
    note: str,
    before: AlarmState,
) -> None:
    audit(
        session,
        actor=by,
        action=action,
        at=now,
        station_id=alarm.station_id,
        rider_id=alarm.rider_id,
        reason=note,
        detail=alarm.kind,
        before={"state": before.value},
        after={"state": alarm.state.value, "alarm_id": alarm.id, "kind": alarm.kind},
    )


def raise_alarm(
    session: Session,
    *,
    station_id: str,
    kind: str,
    at: datetime,
    detail: str = "",
    rider_id: str | None = None,
) -> Alarm:
    """A new alarm, in the caller's transaction, with a delivery queued in the same
    transaction for every notifier that covers it (``server.alerts``): stored means sent."""
    alarm = Alarm(station_id=station_id, kind=kind, raised_at=at, detail=detail, rider_id=rider_id)
    session.add(alarm)
    enqueue(session, alarm)
    return alarm


def read_pulse(session: Session, *, followed: Sequence[str]) -> AlarmPulse:
    """The live feed's poll: index lookups only (max of the id and of each time column, the
    open count over the acknowledged_at index), the newest alarm, the followed stations'
    last event times."""
    open_alarms = select(func.count()).where(col(Alarm.acknowledged_at).is_(None))
    newest_id, open_count, acknowledged, resolved, cleared = (
        session.connection()
        .execute(
            sql_select(
                select(func.max(Alarm.id)).scalar_subquery(),
                open_alarms.scalar_subquery(),
                select(func.max(Alarm.acknowledged_at)).scalar_subquery(),
                select(func.max(Alarm.resolved_at)).scalar_subquery(),
                select(func.max(Alarm.cleared_at)).scalar_subquery(),
            )
        )
        .one()
    )
    newest = None
    if newest_id is not None:
        alarm = session.get(Alarm, newest_id)
        station = session.get(Station, alarm.station_id) if alarm else None
        if alarm is not None:
            newest = NewestAlarm(
                id=newest_id,
                station_id=alarm.station_id,
                station_name=station.name if station else alarm.station_id,
                kind=alarm.kind,
                raised_at=as_utc(alarm.raised_at).isoformat(),
            )
    activity: dict[str, str | None] = dict.fromkeys(followed)
    if followed:
        rows = session.exec(
            select(Station.id, Station.last_event_at).where(col(Station.id).in_(followed))
        )
        for station_id, at in rows:
            activity[station_id] = as_utc(at).isoformat() if at else None
    stamps = (acknowledged, resolved, cleared)
    version = ":".join([str(newest_id or 0), str(open_count)] + [_stamp(at) for at in stamps])
    return AlarmPulse(open=open_count, version=version, newest=newest, activity=activity)


def _stamp(at: datetime | None) -> str:
    return "" if at is None else str(as_utc(at).timestamp())


def pulse_reader(engine: Engine) -> Callable[[Sequence[str]], AlarmPulse]:
    """The feed's read, each poll on a short session of its own (in a worker thread)."""

    def read(followed: Sequence[str]) -> AlarmPulse:
        with Session(engine) as session:
            return read_pulse(session, followed=followed)

    return read
