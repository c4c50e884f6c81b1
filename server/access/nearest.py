"""The nearest other station a rider turned away can go to. Pure.

When ``admit`` refuses with a dead end (full, closed, maintenance, lockdown), the server
builds a ``StationSpot`` for each candidate station from its table (coordinates, count,
capacity) and ``policy.accepting_riders`` (open now, not in maintenance or lockdown), calls
``nearest_with_room(station_id, spots)`` (``next_step.py``) and the door names the station and
its distance (``i18n.door_message``).

Distances are great-circle (haversine) on a mean Earth radius: straight-line, not by road,
which is close enough to rank stations a few kilometres apart in one city.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


@dataclass(frozen=True, slots=True)
class StationSpot:
    station_id: str
    name: str
    lat: float | None  # degrees; None: location not recorded, never suggested
    lon: float | None
    occupancy: int
    capacity: int
    accepting: bool  # policy.accepting_riders(rules, now)

    @property
    def has_room(self) -> bool:
        return self.accepting and self.occupancy < self.capacity


@dataclass(frozen=True, slots=True)
class Nearby:
    station: StationSpot
    distance_m: float


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def nearest_with_room(
    here: str, stations: Iterable[StationSpot], *, max_distance_m: float | None = None
) -> Nearby | None:
    """The closest station other than ``here`` that accepts riders and has a free place, or
    None (``here`` unknown or without a location, or no such station within reach). Ties go to
    the lower station id, so the answer does not depend on the order of ``stations``."""
    spots = list(stations)
    origin = next((s for s in spots if s.station_id == here), None)
    if origin is None or origin.lat is None or origin.lon is None:
        return None
    best: Nearby | None = None
    for spot in spots:
        if spot.station_id == here or not spot.has_room or spot.lat is None or spot.lon is None:
            continue
        distance = haversine_m(origin.lat, origin.lon, spot.lat, spot.lon)
        if max_distance_m is not None and distance > max_distance_m:
            continue
        if best is None or (distance, spot.station_id) < (best.distance_m, best.station.station_id):
            best = Nearby(spot, distance)
    return best
