"""Stations in the database: births and wills, and the version of the configuration every
station is sent (heartbeats and silence, in bulk: ``liveness``)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from protocol.payloads import StationState
from server.stations.models import ConfigState, Station, StationDetails, StationPhoto
from server.stations.photos import photo_url


def get_station(session: Session, *, station_id: str) -> Station | None:
    return session.get(Station, station_id)


def list_stations(session: Session) -> list[Station]:
    return list(session.exec(select(Station).order_by(col(Station.id))))


def station_choices(session: Session, *, limit: int) -> list[tuple[str, str]]:
    """(id, name) of the first ``limit`` stations by name: a list for staff to pick from."""
    statement = select(Station.id, Station.name).order_by(col(Station.name), col(Station.id))
    return [(sid, name) for sid, name in session.exec(statement.limit(limit))]


def set_station_state(session: Session, *, state: StationState, now: datetime) -> Station | None:
    """Record a birth or a last will; a stale will from an older session changes nothing."""
    station = session.get(Station, state.station_id)
    if station is None:
        return None
    if not state.online and station.session_id not in (None, state.session_id):
        return station  # the will of a session that has since been replaced
    if station.online != state.online:
        station.online_changed_at = now
    station.online = state.online
    station.offline_reason = None if state.online else "disconnected"
    station.session_id = state.session_id
    if state.lock_type is not None:
        station.lock_type = state.lock_type.value
    session.add(station)
    session.commit()
    return station


def bump_config_version(session: Session) -> int:
    """Called in the transaction of any change a station must learn about."""
    state = session.get(ConfigState, 1) or ConfigState(id=1, version=0)
    state.version += 1
    session.add(state)
    return state.version


def config_version(session: Session) -> int:
    state = session.get(ConfigState, 1)
    return state.version if state is not None else 1


def station_details(session: Session, station: Station) -> StationDetails:
    """What riders read about the station (the finder), as staff edit it."""
    photo = session.get(StationPhoto, station.id)
    return StationDetails.model_validate(
        {
            "id": station.id,
            "address": station.address,
            "amenities": station.amenities or [],
            "photo_url": photo_url(station.id, photo.digest if photo else None),
        }
    )
