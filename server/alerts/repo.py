"""Notifiers and the queue of deliveries in the database.

A delivery row is inserted in the transaction that raises the alarm (``enqueue``), so an
alarm stored is an alarm that will be sent: a crash, a restart or a receiver that is down
loses nothing. Workers claim due rows atomically (``claim_due``): an UPDATE whose WHERE
re-checks that the row is unclaimed, so two workers racing for a row cannot both win (on
PostgreSQL the candidates are also picked ``FOR UPDATE SKIP LOCKED``, so racers take
different rows instead of queueing behind each other)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, or_, select, update
from sqlmodel import Session, col
from sqlmodel import select as sql_select

from server.alarms.models import Alarm
from server.alerts import rules
from server.alerts.formats import Format
from server.alerts.models import AlertDelivery, Notifier, NotifierWrite
from server.core.localtime import as_utc
from server.stations.models import Station

_DELIVERY: Table = AlertDelivery.__table__  # type: ignore[attr-defined]


def route_of(notifier: Notifier) -> rules.Route:
    return rules.Route(
        stations=tuple(json.loads(notifier.stations)),
        kinds=tuple(json.loads(notifier.kinds)),
        quiet=rules.parse_quiet_hours(notifier.quiet_from, notifier.quiet_until),
    )


def enqueue(session: Session, alarm: Alarm) -> int:
    """A delivery per enabled notifier that covers the alarm, in the caller's transaction
    (the alarm is flushed for its id). Returns how many."""
    notifiers = session.exec(sql_select(Notifier).where(col(Notifier.enabled).is_(True))).all()
    if not notifiers:
        return 0
    if alarm.id is None:
        session.add(alarm)
        session.flush()
    assert alarm.id is not None
    raised_at = as_utc(alarm.raised_at)
    queued = 0
    for notifier in notifiers:
        route = route_of(notifier)
        if not rules.covers(route, station_id=alarm.station_id, kind=alarm.kind):
            continue
        assert notifier.id is not None
        session.add(
            AlertDelivery(
                alarm_id=alarm.id,
                notifier_id=notifier.id,
                created_at=raised_at,
                not_before=rules.send_after(route, kind=alarm.kind, raised_at=raised_at),
            )
        )
        queued += 1
    return queued


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery: AlertDelivery
    notifier: Notifier
    alarm: Alarm
    station_name: str


def claim_due(
    session: Session, *, worker: str, now: datetime, lease: timedelta, limit: int = 20
) -> list[Claimed]:
    """Take up to ``limit`` due, unclaimed deliveries for ``lease``; commits the claim."""
    free = or_(_DELIVERY.c.claimed_until.is_(None), _DELIVERY.c.claimed_until < now)
    due = (
        select(_DELIVERY.c.id)
        .where(_DELIVERY.c.done.is_(False), _DELIVERY.c.not_before <= now, free)
        .order_by(_DELIVERY.c.not_before, _DELIVERY.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(session.execute(due).scalars())
    if not ids:
        session.rollback()
        return []
    claimed = list(
        session.execute(
            update(_DELIVERY)
            .where(_DELIVERY.c.id.in_(ids), _DELIVERY.c.done.is_(False), free)
            .values(claimed_until=now + lease, claimed_by=worker)
            .returning(_DELIVERY.c.id)
        ).scalars()
    )
    session.commit()
    rows = session.exec(
        sql_select(AlertDelivery, Notifier, Alarm, Station.name)
        .join(Notifier, col(Notifier.id) == AlertDelivery.notifier_id)
        .join(Alarm, col(Alarm.id) == AlertDelivery.alarm_id)
        .outerjoin(Station, col(Station.id) == Alarm.station_id)
        .where(col(AlertDelivery.id).in_(claimed))
        .order_by(col(AlertDelivery.id))
    ).all()
    return [Claimed(d, n, a, name or a.station_id) for d, n, a, name in rows]


def _finish(session: Session, *, delivery_id: int, worker: str, **values: object) -> bool:
    """Record the outcome if this worker still holds the claim; commits."""
    result = session.execute(
        update(_DELIVERY)
        .where(_DELIVERY.c.id == delivery_id, _DELIVERY.c.claimed_by == worker)
        .values(claimed_until=None, claimed_by=None, **values)
    )
    session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_delivered(session: Session, *, delivery_id: int, worker: str, now: datetime) -> bool:
    return _finish(
        session, delivery_id=delivery_id, worker=worker, done=True, delivered_at=now,
        attempts=_DELIVERY.c.attempts + 1, last_error="",
    )  # fmt: skip


def mark_retry(
    session: Session, *, delivery_id: int, worker: str, error: str, retry_at: datetime
) -> bool:
    return _finish(
        session, delivery_id=delivery_id, worker=worker, not_before=retry_at,
        attempts=_DELIVERY.c.attempts + 1, last_error=error[:200],
    )  # fmt: skip


def mark_failed(
    session: Session, *, delivery_id: int, worker: str, error: str, now: datetime
) -> bool:
    return _finish(
        session, delivery_id=delivery_id, worker=worker, done=True, failed_at=now,
        attempts=_DELIVERY.c.attempts + 1, last_error=error[:200],
    )  # fmt: skip


def list_deliveries(
    session: Session, *, alarm_id: int | None = None, limit: int = 50, offset: int = 0
) -> list[AlertDelivery]:
    statement = sql_select(AlertDelivery)
    if alarm_id is not None:
        statement = statement.where(AlertDelivery.alarm_id == alarm_id)
    statement = statement.order_by(col(AlertDelivery.id).desc()).offset(offset).limit(limit)
    return list(session.exec(statement))


# Notifiers, as staff manage them.


def list_notifiers(session: Session) -> list[Notifier]:
    return list(session.exec(sql_select(Notifier).order_by(col(Notifier.id))))


def name_taken(session: Session, *, name: str, other_than: int | None = None) -> bool:
    found = session.exec(sql_select(Notifier.id).where(Notifier.name == name)).first()
    return found is not None and found != other_than


def new_notifier(session: Session, change: NotifierWrite, *, now: datetime) -> Notifier:
    notifier = Notifier(
        name=change.name, format=change.format.value, url=change.url, created_at=now
    )
    return write_notifier(session, notifier, change, keep_secret=False)


def write_notifier(
    session: Session, notifier: Notifier, change: NotifierWrite, *, keep_secret: bool
) -> Notifier:
    """Apply a checked write to a row (new or existing); the caller audits and commits. A PUT
    without a secret keeps the stored one (secrets are never shown, so never sent back)."""
    notifier.name = change.name
    notifier.format = Format(change.format).value
    notifier.url = change.url
    if change.secret is not None or not keep_secret:
        notifier.secret = change.secret
    notifier.stations = json.dumps(change.stations)
    notifier.kinds = json.dumps(change.kinds)
    notifier.quiet_from, notifier.quiet_until = change.quiet_from, change.quiet_until
    notifier.recipients = json.dumps(change.recipients)
    notifier.template = change.template
    notifier.language = change.language
    notifier.enabled = change.enabled
    session.add(notifier)
    return notifier


def delete_notifier(session: Session, notifier: Notifier) -> None:
    """The notifier and its queued deliveries (nobody will send them now)."""
    session.execute(_DELIVERY.delete().where(_DELIVERY.c.notifier_id == notifier.id))
    session.delete(notifier)
