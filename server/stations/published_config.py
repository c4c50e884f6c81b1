"""The configuration each station receives: its own standing rules (mode, lockdown). What
every station shares (keys, audience, denylist) is on the trust pages (``server/trust``)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from protocol.payloads import StationConfig, StationMode
from server.stations.repo import config_version, get_station
from server.stations.rules import mode_of


def build_config(session: Session, *, station_id: str, now: datetime) -> StationConfig:
    station = get_station(session, station_id=station_id)
    return StationConfig(
        station_id=station_id,
        config_version=config_version(session),
        issued_at=now,
        mode=mode_of(station) if station else StationMode.NORMAL,
        lockdown=station.lockdown if station else False,
    )
