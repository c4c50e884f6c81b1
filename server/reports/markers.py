"""The stations on the map (``models.MapStations``): every station with coordinates in one
query of the columns a marker needs (no ORM objects: 10,000 markers are one read), with its
badge from the pure ``station_state``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, func

from server.reports.listing import open_alarms
from server.reports.station_state import UNSEEN, StationFacts, badge, problem
from server.stations.models import Station

_STATION = Station.__table__  # type: ignore[attr-defined]


_COLUMNS = (
    "id", "name", "latitude", "longitude", "online", "lockdown", "maintenance",
    "closed_by_hours", "occupancy", "capacity", "soft_limit", "door_phase",
)  # fmt: skip


def _marker(row: Sequence[Any]) -> dict[str, Any]:
    (sid, name, lat, lon, online, lockdown, maintenance, closed, occupancy, capacity,
     soft_limit, door, ever_online, alarms) = row  # fmt: skip
    facts = StationFacts(
        online=online,
        ever_online=bool(online or ever_online),
        lockdown=lockdown,
        maintenance=maintenance,
        closed_by_hours=closed,
        occupancy=occupancy,
        capacity=capacity,
        soft_limit=soft_limit,
        alarms=int(alarms),
    )
    state = badge(facts)
    seen = state not in UNSEEN
    # A MapMarker's fields as a plain dict, from the database's own typed columns: building
    # 10,000 models (validated or not) cost more than the query.
    return {
        "id": sid,
        "name": name,
        "lat": lat,
        "lon": lon,
        "state": state.value,
        "free": max(0, capacity - occupancy) if seen else None,
        "capacity": capacity,
        "problem": int(problem(facts)),
        "alarms": facts.alarms,
        "door": door if seen else None,
    }


def map_stations(session: Session) -> dict[str, Any]:
    """``MapStations`` as a plain dict (see ``_marker``), ready for JSON."""
    alarms = open_alarms()
    placed = (_STATION.c.latitude.is_not(None), _STATION.c.longitude.is_not(None))
    statement = (
        select(
            *(_STATION.c[name] for name in _COLUMNS),
            _STATION.c.online_changed_at.is_not(None),  # ever online: no timestamps to parse
            func.coalesce(alarms.c.n, 0),
        )
        .outerjoin(alarms, alarms.c.station_id == _STATION.c.id)
        .where(*placed)
        .order_by(_STATION.c.id)
    )
    markers = [_marker(row) for row in session.connection().execute(statement)]
    everyone = session.connection().execute(select(func.count()).select_from(_STATION)).scalar_one()
    return {"markers": markers, "unplaced": int(everyone) - len(markers)}
