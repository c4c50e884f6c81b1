"""The stations on the map: every station with coordinates in one query of the columns the
marker needs (no ORM objects: 10,000 markers are one read), with its badge from the pure
``station_state``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, func

from server.reports.listing import open_alarms
from server.reports.models import MapMarker, MapStations
from server.reports.station_state import UNSEEN, StationFacts, badge, problem
from server.stations.models import Station

_STATION = Station.__table__  # type: ignore[attr-defined]


def _marker(row: Any) -> MapMarker:
    facts = StationFacts(
        online=row.online,
        ever_online=row.online or row.online_changed_at is not None,
        lockdown=row.lockdown,
        maintenance=row.maintenance,
        closed_by_hours=row.closed_by_hours,
        occupancy=row.occupancy,
        capacity=row.capacity,
        soft_limit=row.soft_limit,
        alarms=int(row.alarms),
    )
    state = badge(facts)
    seen = state not in UNSEEN
    return MapMarker(
        id=row.id,
        name=row.name,
        lat=row.latitude,
        lon=row.longitude,
        state=state.value,
        free=max(0, row.capacity - row.occupancy) if seen else None,
        capacity=row.capacity,
        problem=int(problem(facts)),
        alarms=facts.alarms,
        door=row.door_phase if seen else None,
    )


def map_stations(session: Session) -> MapStations:
    alarms = open_alarms()
    placed = (_STATION.c.latitude.is_not(None), _STATION.c.longitude.is_not(None))
    columns = (
        "id", "name", "latitude", "longitude", "online", "online_changed_at", "lockdown",
        "maintenance", "closed_by_hours", "occupancy", "capacity", "soft_limit", "door_phase",
    )  # fmt: skip
    statement = (
        select(
            *(_STATION.c[name] for name in columns), func.coalesce(alarms.c.n, 0).label("alarms")
        )
        .outerjoin(alarms, alarms.c.station_id == _STATION.c.id)
        .where(*placed)
        .order_by(_STATION.c.id)
    )
    markers = [_marker(row) for row in session.connection().execute(statement)]
    everyone = session.connection().execute(select(func.count()).select_from(_STATION)).scalar_one()
    return MapStations(markers=markers, unplaced=int(everyone) - len(markers))
