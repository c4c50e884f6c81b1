"""Alarms in the database: raised (by stations' events or by the server), listed, counted,
acknowledged by staff."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from server.alarms.models import Alarm
from server.alerts.repo import enqueue
from server.audit.repo import audit
from server.core.errors import ConflictError, ErrorCode, NotFoundError


def list_alarms(
    session: Session,
    *,
    station_id: str | None = None,
    unacknowledged: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[Alarm]:
    statement = select(Alarm)
    if station_id is not None:
        statement = statement.where(Alarm.station_id == station_id)
    if unacknowledged:
        statement = statement.where(col(Alarm.acknowledged_at).is_(None))
    statement = statement.order_by(col(Alarm.raised_at).desc(), col(Alarm.id).desc())
    return list(session.exec(statement.offset(offset).limit(limit)))


def active_alarm_counts(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(Alarm.station_id, func.count())
        .where(col(Alarm.acknowledged_at).is_(None))
        .group_by(Alarm.station_id)
    ).all()
    return {station_id: count for station_id, count in rows}


def acknowledge_alarm(session: Session, *, alarm_id: int, by: str, now: datetime) -> Alarm:
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFoundError(ErrorCode.NO_ALARM, id=alarm_id)
    if alarm.acknowledged_at is not None:
        raise ConflictError(
            ErrorCode.ALARM_ALREADY_ACKNOWLEDGED, id=alarm_id, by=alarm.acknowledged_by or ""
        )
    alarm.acknowledged_at, alarm.acknowledged_by = now, by
    session.add(alarm)
    audit(
        session,
        actor=by,
        action="alarm_acknowledged",
        at=now,
        station_id=alarm.station_id,
        detail=f"{alarm.kind} #{alarm.id}",
    )
    session.commit()
    session.refresh(alarm)
    return alarm


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
