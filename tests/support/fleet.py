"""Many stations at once, for the two-worker tests and the capacity benchmark: provisioned
straight into the database (a key each; no broker account, so an open broker), and what each
would send, signed with its own key as its agent signs it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert
from sqlmodel import Session

from protocol import topics
from protocol.payloads import AccessRequest, EventKind, Heartbeat, StationEvent, dump
from protocol.signing import SigningKey, UserProperties, sign
from protocol.topics import Family
from server.core.localtime import utcnow
from server.keys.ring import KeyHolder
from server.riders.models import Rider, RiderCreate
from server.riders.repo import create_rider
from server.riders.tokens import issue_token
from server.stations.models import Station

_STATION = Station.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as a station publishes it."""

    topic: str
    payload: bytes
    user_properties: UserProperties


def provision_fleet(
    engine: Engine, count: int, *, prefix: str = "ld", capacity: int = 500, chunk: int = 5_000
) -> dict[str, SigningKey]:
    """``count`` stations with their own signing keys, inserted in chunks; their keys by id."""
    keys = {f"{prefix}-{n:06d}": SigningKey.generate() for n in range(count)}
    rows = [
        {
            "id": station_id,
            "name": station_id,
            "capacity": capacity,
            "public_key": key.public_key_text,
            **_STATION_DEFAULTS,
        }
        for station_id, key in keys.items()
    ]
    with engine.begin() as connection:
        for start in range(0, len(rows), chunk):
            connection.execute(insert(_STATION), rows[start : start + chunk])
    return keys


_STATION_DEFAULTS = {
    "occupancy": 0,
    "online": True,
    "soft_limit": 0.8,
    "maintenance": False,
    "lockdown": False,
    "passback": "alert",
    "door_phase": "locked",
}


def signed(key: SigningKey, station_id: str, family: Family, payload: bytes) -> Outgoing:
    return Outgoing(
        topics.station_topic(station_id, family), payload, sign([key], family, station_id, payload)
    )


def heartbeat(key: SigningKey, station_id: str, *, session_id: str = "load") -> Outgoing:
    beat = Heartbeat(
        station_id=station_id,
        session_id=session_id,
        sent_at=utcnow(),
        interval_s=60,
        camera_ok=True,
        outbox_depth=0,
        config_version=1,
    )
    return signed(key, station_id, Family.HEARTBEAT, dump(beat))


def event(
    key: SigningKey,
    station_id: str,
    *,
    epoch: str,
    seq: int,
    kind: EventKind,
    **fields: object,
) -> Outgoing:
    payload = StationEvent(
        event_id=uuid.uuid5(uuid.NAMESPACE_OID, f"{station_id}/{epoch}/{seq}").hex,
        station_id=station_id,
        epoch=epoch,
        seq=seq,
        kind=kind,
        occurred_at=datetime.now(UTC),
        **fields,  # type: ignore[arg-type]
    )
    return signed(key, station_id, Family.EVENTS, dump(payload))


def access_request(
    key: SigningKey, station_id: str, token: str, *, request_id: str | None = None
) -> tuple[str, Outgoing]:
    request = AccessRequest(
        request_id=request_id or uuid.uuid4().hex,
        station_id=station_id,
        token=token,
        station_time=utcnow(),
    )
    return request.request_id, signed(key, station_id, Family.ACCESS_REQUEST, dump(request))


def enrol_riders(engine: Engine, count: int) -> list[Rider]:
    with Session(engine, expire_on_commit=False) as session:
        return [
            create_rider(
                session,
                rider_in=RiderCreate(platform="food_delivery"),
                now=utcnow(),
                by="test",
            )[0]
            for _ in range(count)
        ]


def tokens_for(riders: Sequence[Rider], keys: KeyHolder, *, audience: str, now: float) -> list[str]:
    """One fresh code per rider, signed as the rider's pass page signs it."""
    signer = keys.ring.signer(datetime.fromtimestamp(now, UTC))
    return [
        issue_token(rider=r, signer=signer, audience=audience, lifetime_s=120, now=now)[0]
        for r in riders
    ]
