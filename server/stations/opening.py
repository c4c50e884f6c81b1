"""Which stations their opening hours close right now, stored on the station row
(``closed_by_hours``) so that the overview counts, filters and sorts them in SQL. The rule is
``server.stations.rules.closed_by_hours``; the minute job (``server.jobs.scheduler``) and a
rules change keep the flag current, so it lags the clock by at most a minute. Access
decisions never read the flag: they check the hours themselves."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Boolean, String, bindparam, select, update
from sqlmodel import Session

from server.stations.models import Station
from server.stations.rules import closed_by_hours

log = logging.getLogger(__name__)

_STATION = Station.__table__  # type: ignore[attr-defined]


def closed_now(station: Station, now: datetime) -> bool:
    """The flag for one station (a rules change sets it in the change's transaction)."""
    return _closed(station.id, station.opening_hours, station.emergency, now)


def _closed(station_id: str, hours: str | None, emergency: str | None, now: datetime) -> bool:
    try:
        return closed_by_hours(hours, emergency, now.timestamp())
    except ValueError:  # stored hours are checked when saved; never let one stop the job
        log.exception("%s: its opening hours cannot be read; counted as open", station_id)
        return False


def refresh_closed_by_hours(session: Session, *, now: datetime) -> list[str]:
    """Set the flag of every station whose hours say otherwise now; one read of the stations
    with hours or a flag set, one UPDATE run for the changed rows. Returns their ids."""
    rows = session.connection().execute(
        select(
            _STATION.c.id,
            _STATION.c.opening_hours,
            _STATION.c.emergency,
            _STATION.c.closed_by_hours,
        )
        .where(_STATION.c.opening_hours.is_not(None) | _STATION.c.closed_by_hours.is_(True))
        .order_by(_STATION.c.id)  # row locks always in the same order
    )
    changed = [
        {"b_id": station_id, "b_closed": closed}
        for station_id, hours, emergency, was in rows
        if (closed := _closed(station_id, hours, emergency, now)) != was
    ]
    if changed:
        session.connection().execute(
            update(_STATION)
            .where(_STATION.c.id == bindparam("b_id", type_=String()))
            .values(closed_by_hours=bindparam("b_closed", type_=Boolean())),
            changed,
        )
    return [row["b_id"] for row in changed]
