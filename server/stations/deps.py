"""The one station lookup of the routes and pages: a station id in the path that names no
station is a 404."""

from __future__ import annotations

from fastapi import HTTPException, status
from sqlmodel import Session

from server.stations.models import Station


def station_or_404(session: Session, station_id: str) -> Station:
    station = session.get(Station, station_id)
    if station is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no station {station_id!r}")
    return station
