"""What riders may read about stations: nothing about riders, alarms or staff. The API test
(tests/integration/test_public_stations.py) lists these keys and fails on any other."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from server.stations.models import Amenity


class PublicStation(BaseModel):
    id: str
    name: str
    address: str | None
    lat: float | None
    lon: float | None
    open_now: bool  # accepting riders now (hours, holidays, maintenance, lockdown, emergency)
    reopens_at: datetime | None  # closed by its hours: when it opens again
    free_places: int
    capacity: int
    amenities: list[Amenity]
    photo_url: str | None
    updated_at: datetime | None  # when the server last heard from the station


class PublicStations(BaseModel):
    generated_at: datetime  # the age riders see when this is all they have (offline)
    hotline: str
    stations: list[PublicStation]
