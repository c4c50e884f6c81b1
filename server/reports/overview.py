"""The overview's rows: what staff see of a station, read a page at a time for the page and
the API, and for the live feed of the stations open streams show."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from server.core.localtime import as_utc
from server.reports.listing import StationQuery, station_counts, station_page, stations_by_id
from server.reports.models import StationCounts, StationRow
from server.reports.repo import last_entries
from server.reports.station_state import StationFacts, badge, last_report, problem
from server.stations.models import Station

# How much older than a station's newest stored event a newly stored one may be and still be
# noticed as its latest entry by a running live stream (a page reload always sees it).
LATE_EVENT_MARGIN = timedelta(hours=1)


def station_facts(station: Station, alarms: int) -> StationFacts:
    return StationFacts(
        online=station.online,
        ever_online=station.online or station.online_changed_at is not None,
        lockdown=station.lockdown,
        maintenance=station.maintenance,
        closed_by_hours=station.closed_by_hours,
        occupancy=station.occupancy,
        capacity=station.capacity,
        soft_limit=station.soft_limit,
        alarms=alarms,
    )


def _utc(at: datetime | None) -> datetime | None:
    return as_utc(at) if at is not None else None


def overview_row(station: Station, alarms: int, last_entry: datetime | None) -> StationRow:
    facts = station_facts(station, alarms)
    return StationRow(
        id=station.id,
        name=station.name,
        capacity=station.capacity,
        soft_limit=station.soft_limit,
        occupancy=station.occupancy,
        online=station.online,
        online_changed_at=_utc(station.online_changed_at),
        door_phase=station.door_phase,
        lockdown=station.lockdown,
        maintenance=station.maintenance,
        active_alarms=alarms,
        last_entry_at=last_entry,
        config_error=station.config_error,
        not_ready=station.not_ready,
        state=badge(facts).value,
        problem=int(problem(facts)),
        # Only where staff read it: an online station's heartbeats would change its row (and
        # send it down every live stream) once a minute for nothing.
        last_report_at=None
        if station.online
        else last_report(
            _utc(station.last_heartbeat_at),
            _utc(station.last_event_at),
            _utc(station.online_changed_at),
        ),
        offline_reason=None if station.online else station.offline_reason,
        closed_by_hours=station.closed_by_hours,
    )


def overview_page(
    session: Session, *, query: StationQuery, limit: int, offset: int
) -> tuple[list[StationRow], int]:
    """One page of overview rows and how many stations match: three queries (the page, its
    count, the latest entries of its stations) whatever the number of stations."""
    found, total = station_page(session, query=query, limit=limit, offset=offset)
    latest = last_entries(session, station_ids=[s.id for s, _ in found])
    return [overview_row(s, alarms, latest.get(s.id)) for s, alarms in found], total


def overview_rows(session: Session, *, station_ids: Sequence[str]) -> list[StationRow]:
    """The overview rows of the given stations (unknown ids are skipped)."""
    found = stations_by_id(session, station_ids=station_ids)
    latest = last_entries(session, station_ids=[s.id for s, _ in found])
    return [overview_row(s, alarms, latest.get(s.id)) for s, alarms in found]


class LiveReader:
    """The live feed's reads, in one worker thread at a time: the watched stations' rows (one
    query) and their latest entries, found in full once per station and afterwards only for
    stations whose latest event moved, over the newer events only."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._last_event: dict[str, datetime | None] = {}
        self._last_entry: dict[str, datetime] = {}

    def __call__(
        self, station_ids: Sequence[str], with_counts: bool
    ) -> tuple[list[StationRow], StationCounts | None]:
        with Session(self._engine) as session:
            found = stations_by_id(session, station_ids=station_ids)
            self._follow_entries(session, [station for station, _ in found])
            counts = station_counts(session) if with_counts else None
        return [overview_row(s, alarms, self._last_entry.get(s.id)) for s, alarms in found], counts

    def _follow_entries(self, session: Session, stations: Sequence[Station]) -> None:
        seen = {s.id: as_utc(s.last_event_at) if s.last_event_at else None for s in stations}
        new = [s for s in seen if s not in self._last_event]
        moved = [s for s, at in seen.items() if s in self._last_event and at != self._last_event[s]]
        if new:
            self._last_entry.update(last_entries(session, station_ids=new))
        if moved:
            befores = [self._last_event[s] for s in moved]
            # A re-sent gap can store an event a little older than the newest one seen.
            after = None if None in befores else min(b for b in befores if b) - LATE_EVENT_MARGIN
            for station_id, at in last_entries(session, station_ids=moved, after=after).items():
                known = self._last_entry.get(station_id)
                self._last_entry[station_id] = max(at, known or at)
        self._last_event = seen  # stations no longer watched are forgotten
        self._last_entry = {s: at for s, at in self._last_entry.items() if s in seen}
