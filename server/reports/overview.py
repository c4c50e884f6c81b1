"""The overview's rows: what staff see of every station, read for a page or polled by a live
stream."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from server.alarms.repo import active_alarm_counts
from server.core.localtime import as_utc
from server.reports.models import StationRow
from server.reports.repo import last_entries
from server.stations.repo import list_stations

# How much older than a station's newest stored event a newly stored one may be and still be
# noticed as its latest entry by a running live stream (a page reload always sees it).
LATE_EVENT_MARGIN = timedelta(hours=1)


def station_rows(
    session: Session,
    *,
    station_ids: Sequence[str] | None = None,
    last_entry: dict[str, datetime] | None = None,
) -> list[StationRow]:
    """What the overview shows of every station (or of the given ones); ``last_entry`` when
    the caller already knows it (the live stream keeps it between polls)."""
    alarms = active_alarm_counts(session)
    stations = list_stations(session)
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
            config_error=s.config_error,
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
            for s in list_stations(session)
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
