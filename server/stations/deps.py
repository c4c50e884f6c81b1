"""The one station lookup of the routes and pages: a station id in the path that names no
station is a 404."""

from __future__ import annotations

from fastapi import status
from sqlmodel import Session

from server.core.api_errors import ApiError
from server.core.errors import ErrorCode
from server.stations.models import Station


def station_or_404(session: Session, station_id: str) -> Station:
    station = session.get(Station, station_id)
    if station is None:
        raise ApiError(status.HTTP_404_NOT_FOUND, ErrorCode.NO_STATION, id=station_id)
    return station
