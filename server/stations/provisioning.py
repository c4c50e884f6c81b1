"""Giving a station its identity: a signing key (the server keeps the public half), a broker
account with a random password (the server keeps Mosquitto's hash of it), and the bundle that
carries both to the station box with the broker's address, its CA and the control keys to pin.

The bundle is made once and shown once; provisioning again (a stolen or replaced box) makes a
new key and password, and the old ones stop working at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session

from protocol.credential import public_key_to_text
from protocol.payloads import ProvisioningBundle
from protocol.signing import SigningKey
from server.audit.repo import audit
from server.broker.accounts import hash_password, new_password
from server.core.errors import AlreadyExistsError, ErrorCode, NotFoundError
from server.core.settings import ServerSettings
from server.keys.ring import ControlKeys
from server.stations.models import Station, StationCreate


def create_station(
    session: Session,
    *,
    station_in: StationCreate,
    settings: ServerSettings,
    control: ControlKeys,
    now: datetime,
    by: str,
) -> tuple[Station, ProvisioningBundle]:
    """A new station, audited as created by ``by`` (its identity's secrets are in no record)."""
    if session.get(Station, station_in.id) is not None:
        raise AlreadyExistsError(ErrorCode.STATION_EXISTS, id=station_in.id)
    station = Station.model_validate(station_in)
    bundle = _new_identity(station, settings=settings, control=control, now=now)
    session.add(station)
    audit(
        session,
        actor=by,
        action="station_created",
        at=now,
        station_id=station.id,
        after=station_in.model_dump(exclude={"id"}, exclude_none=True),
    )
    session.commit()
    session.refresh(station)
    return station, bundle


def reprovision(
    session: Session,
    *,
    station_id: str,
    settings: ServerSettings,
    control: ControlKeys,
    now: datetime,
    by: str,
    reason: str,
) -> tuple[Station, ProvisioningBundle]:
    """A new identity for an existing station; the previous key and password stop working.
    Audited in the same transaction (which key it had and has: public halves only)."""
    station = session.get(Station, station_id)
    if station is None:
        raise NotFoundError(ErrorCode.NO_STATION, id=station_id)
    before = {"public_key": (station.public_key or "")[:12]}
    bundle = _new_identity(station, settings=settings, control=control, now=now)
    session.add(station)
    audit(
        session,
        actor=by,
        action="station_reprovisioned",
        at=now,
        station_id=station_id,
        reason=reason,
        before=before,
        after={"public_key": (station.public_key or "")[:12]},
    )
    session.commit()
    session.refresh(station)
    return station, bundle


def _new_identity(
    station: Station, *, settings: ServerSettings, control: ControlKeys, now: datetime
) -> ProvisioningBundle:
    key = SigningKey.generate()
    password = new_password()
    station.public_key = key.public_key_text
    station.broker_password_hash = hash_password(password)
    return ProvisioningBundle(
        bundle_id=uuid.uuid4().hex,
        station_id=station.id,
        issued_at=now,
        expires_at=now + timedelta(seconds=settings.bundle_lifetime_s),
        server_url=settings.public_base_url or None,
        broker_host=settings.station_broker_host or settings.broker_host,
        broker_port=settings.station_broker_port or settings.broker_port,
        broker_ca_pem=settings.broker_ca.read_text() if settings.broker_ca is not None else None,
        broker_username=station.id,
        broker_password=password,
        control_keys={kid: public_key_to_text(pk) for kid, pk in control.published(now).items()},
        station_key=key.to_text(),
    )
