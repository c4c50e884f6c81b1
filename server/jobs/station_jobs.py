"""Periodic station jobs: the nightly quiet-hour check of counts (corrected only with
evidence: closed and a quiet door; never a station open at that hour), welfare alerts
for long stays, and alarms for stations offline too long. The decisions are the pure
functions of ``server.events.occupancy``, ``server.alarms.welfare`` and
``server.alarms.offline``; this module reads and writes the rows around them."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, or_, select

from protocol.details import Shape, write
from server.access.policy import open_at
from server.alarms import welfare
from server.alarms.models import Alarm
from server.alarms.offline import DEFAULT_OFFLINE_AFTER, offline_alarm_due
from server.alarms.repo import raise_alarm
from server.core.localtime import as_local, as_utc
from server.events.models import Stay
from server.events.occupancy import Outcome, QuietHour, reconcile_quiet_hour
from server.events.repo import last_door_activity, record_correction
from server.events.stays import end_stays
from server.stations.models import Station
from server.stations.rules import rules_of

log = logging.getLogger(__name__)

DEFAULT_QUIET_HOUR = QuietHour()
DEFAULT_WELFARE = welfare.WelfareRules()


def run_station_jobs(
    session: Session,
    *,
    now: datetime,
    quiet: QuietHour = DEFAULT_QUIET_HOUR,
    rules: welfare.WelfareRules = DEFAULT_WELFARE,
    offline_after: timedelta = DEFAULT_OFFLINE_AFTER,
) -> None:
    """One pass over the stations that may have something to do, committed once: in the
    quiet hour each station until it is reconciled that day; otherwise those offline, those
    with an offline alarm still open, and those with someone inside (every open stay read in
    one query). The rest have nothing to reconcile, no stay to watch and no alarm to raise
    or clear, so at national size a minute reads a few thousand rows, not 186,100 stations
    and a query for each."""
    last_offline_alarms = _last_offline_alarms(session)
    stays: dict[str, list[Stay]] = {}
    for stay in session.exec(select(Stay).where(col(Stay.ended_at).is_(None))):
        stays.setdefault(stay.station_id, []).append(stay)
    for station in _stations_due(session, now, quiet):
        _reconcile(session, station, now, quiet)
        _welfare(session, station, now, rules, stays.get(station.id, []))
        _offline(session, station, now, offline_after, last_offline_alarms.get(station.id))
    session.commit()


def _stations_due(session: Session, now: datetime, quiet: QuietHour) -> list[Station]:
    open_alarm = select(Alarm.station_id).where(
        Alarm.kind == OFFLINE, col(Alarm.cleared_at).is_(None)
    )
    inside = select(Stay.station_id).where(col(Stay.ended_at).is_(None))
    due: list[ColumnElement[bool]] = [
        col(Station.online).is_(False),
        col(Station.id).in_(open_alarm),
        col(Station.id).in_(inside),
    ]
    local = now.astimezone(quiet.tz)
    if local.hour == quiet.hour:  # reconciled once a local day, inside this hour
        today = local.date().isoformat()
        due.append(col(Station.last_reconciled_on).is_(None))
        due.append(col(Station.last_reconciled_on) != today)
    return list(session.exec(select(Station).where(or_(*due)).order_by(col(Station.id))))


OFFLINE = "station_offline"


def _last_offline_alarms(session: Session) -> dict[str, datetime]:
    rows = session.exec(
        select(Alarm.station_id, func.max(Alarm.raised_at))
        .where(Alarm.kind == OFFLINE)
        .group_by(Alarm.station_id)
    ).all()
    return {station_id: as_utc(at) for station_id, at in rows if at is not None}


def _offline(
    session: Session, station: Station, now: datetime, after: timedelta, last: datetime | None
) -> None:
    changed = as_utc(station.online_changed_at) if station.online_changed_at else None
    if station.online:
        if last is not None and changed is not None and last < changed:
            _clear_offline(session, station.id, at=changed)
        return
    if offline_alarm_due(
        online=False, changed_at=changed, last_alarm_at=last, now=now, after=after
    ):
        assert changed is not None
        since = as_local(changed).strftime("%Y-%m-%d %H:%M")
        minutes = int((now - changed).total_seconds() // 60)
        reason = station.offline_reason or "link lost"
        raise_alarm(
            session,
            station_id=station.id,
            kind=OFFLINE,
            at=now,
            detail=write(Shape.OFFLINE, since=since, cause=reason, minutes=minutes),
        )


def _clear_offline(session: Session, station_id: str, *, at: datetime) -> None:
    for alarm in session.exec(
        select(Alarm).where(
            Alarm.station_id == station_id, Alarm.kind == OFFLINE, col(Alarm.cleared_at).is_(None)
        )
    ):
        alarm.cleared_at = at
        session.add(alarm)


def _reconcile(session: Session, station: Station, now: datetime, quiet: QuietHour) -> None:
    last = date.fromisoformat(station.last_reconciled_on) if station.last_reconciled_on else None
    local = now.astimezone(quiet.tz)
    if local.hour != quiet.hour or last == local.date():
        return  # the rule would say the same; spare the queries below
    rules = rules_of(station)
    result = reconcile_quiet_hour(
        station.occupancy,
        station_id=station.id,
        now=now,
        quiet=quiet,
        last_run_on=last,
        open_now=rules.emergency is not None or open_at(rules, now.timestamp()),
        last_door_at=last_door_activity(session, station_id=station.id)
        if station.occupancy > 0
        else None,
    )
    if result is None:
        return
    station.last_reconciled_on = result.run_on.isoformat()
    if result.change is not None:
        station.occupancy = result.count
        end_stays(session, station_id=station.id, at=now)
        record_correction(session, change=result.change)
        log.info("%s: night check set the count to 0 (%s)", station.id, result.change.reason)
    elif result.outcome is not Outcome.ALREADY_EMPTY:
        log.info(
            "%s: night check kept the count at %d (%s)",
            station.id,
            station.occupancy,
            result.outcome.value,
        )
    session.add(station)


def _welfare(
    session: Session,
    station: Station,
    now: datetime,
    rules: welfare.WelfareRules,
    open_now: list[Stay],
) -> None:
    # (Ended meanwhile: a reconciliation in this pass may have ended them.)
    rows = {row.id: row for row in open_now if row.ended_at is None}
    stays = [
        welfare.Stay(
            row.rider_id, row.station_id, as_utc(row.entered_at).timestamp(), row.welfare_alerted
        )
        for row in rows.values()
    ]
    ids = list(rows)
    alerts = welfare.due_alerts(
        stays, now=now.timestamp(), outdoor_c=station.outdoor_temp_c, rules=rules
    )
    for alert in alerts:
        hours = alert.inside_s / 3600
        raise_alarm(
            session,
            station_id=station.id,
            kind="welfare",
            at=now,
            rider_id=alert.rider_id,
            detail=write(Shape.WELFARE, cause=alert.cause.value, hours=f"{hours:.1f}"),
        )
        for stay_id, stay in zip(ids, stays, strict=True):
            if stay.rider_id == alert.rider_id:
                rows[stay_id].welfare_alerted = True
                session.add(rows[stay_id])
