"""A refused rider's next step, read from the database for a dead-end refusal (full, closed,
maintenance, lockdown): the nearest other open station with room and how far it is, within
``NEARBY_MAX_M`` (``nearest.nearest_with_room``), and, for a station closed by its hours,
when it opens again (``policy.reopens_at``). The door shows it (``protocol.reasons.DoorHint``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, false, select

from protocol.reasons import NEARBY_MAX_M, Reason
from server.access.nearest import Nearby, StationSpot, nearest_with_room
from server.access.policy import accepting_riders, reopens_at
from server.stations.models import Station
from server.stations.rules import rules_of


@dataclass(frozen=True, slots=True)
class NextStep:
    nearby: str | None = None
    nearby_distance_m: int | None = None
    reopens_at: datetime | None = None


def next_step(session: Session, *, station: Station, reason: Reason, now: float) -> NextStep:
    reopening = reopens_at(rules_of(station), now) if reason is Reason.CLOSED_NOW else None
    nearby = _nearest_with_room(session, station, now)
    if nearby is None:
        return NextStep(reopens_at=reopening)
    return NextStep(nearby.station.name, round(nearby.distance_m), reopening)


def _nearest_with_room(session: Session, here: Station, now: float) -> Nearby | None:
    if here.latitude is None or here.longitude is None:
        return None
    # Only stations that could take someone: the rest never become a candidate, so a full
    # city of stations is not read for every refusal.
    candidates = session.exec(
        select(Station).where(
            col(Station.id) != here.id,
            col(Station.occupancy) < col(Station.capacity),
            col(Station.lockdown) == false(),
            col(Station.maintenance) == false(),
            col(Station.latitude).is_not(None),
            col(Station.longitude).is_not(None),
        )
    )
    spots = [_spot(here, accepting=True)] + [
        _spot(s, accepting=accepting_riders(rules_of(s), now)) for s in candidates
    ]
    return nearest_with_room(here.id, spots, max_distance_m=NEARBY_MAX_M)


def _spot(station: Station, *, accepting: bool) -> StationSpot:
    return StationSpot(
        station_id=station.id,
        name=station.name,
        lat=station.latitude,
        lon=station.longitude,
        occupancy=station.occupancy,
        capacity=station.capacity,
        accepting=accepting,
    )
