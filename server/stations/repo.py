"""Stations in the database: provisioning, liveness (births, wills, heartbeats, silence) and
the version of the configuration every station is sent."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from protocol.payloads import Heartbeat, StationState
from server.core.localtime import as_utc
from server.events.models import EventStream
from server.events.store import StreamAck, advance_stream
from server.stations.models import ConfigState, Station

MISSED_HEARTBEATS = 3


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


def record_heartbeat(session: Session, *, heartbeat: Heartbeat, now: datetime) -> bool:
    """Store what a heartbeat says; a station marked unavailable for silence comes back."""
    station = session.get(Station, heartbeat.station_id)
    if station is None:
        return False
    station.last_heartbeat_at = now
    station.heartbeat_interval_s = heartbeat.interval_s
    station.camera_ok = heartbeat.camera_ok
    station.outbox_depth = heartbeat.outbox_depth
    station.offline_refusal = heartbeat.offline_refusal.value if heartbeat.offline_refusal else None
    if heartbeat.epoch is not None and heartbeat.outbox_floor is not None:
        stream = session.get(EventStream, (station.id, heartbeat.epoch))
        if stream is not None and heartbeat.outbox_floor - 1 > stream.contiguous_through:
            ack = StreamAck(station.id, heartbeat.epoch)
            advance_stream(session, ack, floor=heartbeat.outbox_floor)
    if not station.online and station.session_id == heartbeat.session_id:
        station.online, station.online_changed_at, station.offline_reason = True, now, None
    session.add(station)
    return True


def mark_silent_stations(session: Session, *, now: datetime) -> list[str]:
    """Stations online by their birth message but silent for several heartbeat intervals.

    They are marked offline since their last heartbeat (the broker's last will can take a
    keepalive and a half to come; a hung agent never sends one).
    """
    marked = []
    statement = select(Station).where(
        col(Station.online).is_(True), col(Station.last_heartbeat_at).is_not(None)
    )
    for station in session.exec(statement):
        if station.last_heartbeat_at is None or station.heartbeat_interval_s is None:
            continue
        last = as_utc(station.last_heartbeat_at)
        if now - last > timedelta(seconds=MISSED_HEARTBEATS * station.heartbeat_interval_s):
            station.online, station.online_changed_at = False, last
            station.offline_reason = "heartbeat_missed"
            session.add(station)
            marked.append(station.id)
    session.commit()
    return marked


def bump_config_version(session: Session) -> int:
    """Called in the transaction of any change a station must learn about."""
    state = session.get(ConfigState, 1) or ConfigState(id=1, version=0)
    state.version += 1
    session.add(state)
    return state.version


def config_version(session: Session) -> int:
    state = session.get(ConfigState, 1)
    return state.version if state is not None else 1
