"""Periodic station jobs: the nightly quiet-hour reconciliation of counts, and welfare alerts
for long stays. The decisions are the pure functions of ``server.events.occupancy`` and
``server.alarms.welfare``; this module reads
and writes the rows around them."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from server.alarms import welfare
from server.alarms.repo import raise_alarm
from server.core.localtime import as_utc
from server.events.occupancy import QuietHour, reconcile_quiet_hour
from server.events.repo import record_correction
from server.events.stays import end_stays, open_stays
from server.stations.models import Station
from server.stations.repo import list_stations

DEFAULT_QUIET_HOUR = QuietHour()
DEFAULT_WELFARE = welfare.WelfareRules()


def run_station_jobs(
    session: Session,
    *,
    now: datetime,
    quiet: QuietHour = DEFAULT_QUIET_HOUR,
    rules: welfare.WelfareRules = DEFAULT_WELFARE,
) -> None:
    """One pass over every station, committed once."""
    for station in list_stations(session):
        _reconcile(session, station, now, quiet)
        _welfare(session, station, now, rules)
    session.commit()


def _reconcile(session: Session, station: Station, now: datetime, quiet: QuietHour) -> None:
    last = date.fromisoformat(station.last_reconciled_on) if station.last_reconciled_on else None
    result = reconcile_quiet_hour(
        station.occupancy, station_id=station.id, now=now, quiet=quiet, last_run_on=last
    )
    if result is None:
        return
    station.last_reconciled_on = result.run_on.isoformat()
    if result.change.changed:
        station.occupancy = result.count
        end_stays(session, station_id=station.id, at=now)
        record_correction(session, change=result.change)
    session.add(station)


def _welfare(
    session: Session, station: Station, now: datetime, rules: welfare.WelfareRules
) -> None:
    rows = {row.id: row for row in open_stays(session, station_id=station.id)}
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
            detail=f"{alert.cause.value}: inside {hours:.1f} h, please look in",
        )
        for stay_id, stay in zip(ids, stays, strict=True):
            if stay.rider_id == alert.rider_id:
                rows[stay_id].welfare_alerted = True
                session.add(rows[stay_id])
