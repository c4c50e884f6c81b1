"""The configuration each station receives: rider-token keys, audience, denylist, standing
mode, and the control keys it is to pin."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from protocol.credential import public_key_to_text
from protocol.payloads import StationConfig, StationMode
from server.core.settings import ServerSettings
from server.keys.ring import ControlKeys, KeyRing
from server.riders.repo import denylist
from server.stations.repo import config_version, get_station
from server.stations.rules import mode_of


def build_config(
    session: Session,
    *,
    station_id: str,
    ring: KeyRing,
    control: ControlKeys,
    settings: ServerSettings,
    now: datetime,
) -> StationConfig:
    since = now - timedelta(seconds=settings.denylist_retention_s)
    station = get_station(session, station_id=station_id)
    return StationConfig(
        station_id=station_id,
        config_version=config_version(session),
        issued_at=now,
        audience=settings.audience,
        keys={kid: public_key_to_text(key) for kid, key in ring.published(now).items()},
        denylist=denylist(session, since=since),
        mode=mode_of(station) if station else StationMode.NORMAL,
        lockdown=station.lockdown if station else False,
        control_keys={kid: public_key_to_text(key) for kid, key in control.published(now).items()},
    )
