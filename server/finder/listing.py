"""The public station list from the station table: one query for the stations, one for their
photos' digests; each row turned into what riders may read."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from server.access.policy import accepting_riders, reopens_at
from server.core.localtime import as_utc
from server.finder.models import PublicStation, PublicStations
from server.stations.models import Amenity, Station, StationPhoto
from server.stations.photos import photo_url
from server.stations.rules import rules_of

KNOWN_AMENITIES = frozenset(a.value for a in Amenity)  # a stored one since retired is skipped


def _last_heard(station: Station) -> datetime | None:
    seen = [
        as_utc(t)
        for t in (station.last_heartbeat_at, station.last_event_at, station.online_changed_at)
        if t is not None
    ]
    return max(seen, default=None)


def public_station(station: Station, photo_digest: str | None, now: float) -> PublicStation:
    rules = rules_of(station)
    open_now = accepting_riders(rules, now)
    # Lockdown and maintenance promise no time; emergency free entry is open whatever the hours.
    reopens = None if open_now or rules.lockdown or rules.maintenance else reopens_at(rules, now)
    return PublicStation(
        id=station.id,
        name=station.name,
        address=station.address,
        lat=station.latitude,
        lon=station.longitude,
        open_now=open_now,
        reopens_at=None if reopens is None else reopens.astimezone(UTC),
        free_places=max(0, station.capacity - station.occupancy),
        capacity=station.capacity,
        amenities=[Amenity(a) for a in station.amenities or [] if a in KNOWN_AMENITIES],
        photo_url=photo_url(station.id, photo_digest),
        updated_at=_last_heard(station),
    )


def public_stations(session: Session, *, now: float, hotline: str) -> PublicStations:
    digests = dict(session.exec(select(StationPhoto.station_id, StationPhoto.digest)).all())
    stations = session.exec(select(Station).order_by(col(Station.id)))
    return PublicStations(
        generated_at=datetime.fromtimestamp(now, UTC),
        hotline=hotline,
        stations=[public_station(s, digests.get(s.id), now) for s in stations],
    )
