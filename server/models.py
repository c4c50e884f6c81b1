"""Tables and API shapes (SQLModel: Base / Create / Public / table families)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from protocol.topics import STATION_ID_PATTERN


def utcnow() -> datetime:
    return datetime.now(UTC)


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    # Stored as UTC; PostgreSQL keeps the zone, SQLite hands back naive UTC (see as_utc).
    column = Column(DateTime(timezone=True), nullable=nullable, index=index)
    return Field(default=None, sa_column=column) if nullable else Field(sa_column=column)


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# -- stations -------------------------------------------------------------------------------
class StationBase(SQLModel):
    name: str = Field(min_length=1, max_length=80)
    capacity: int = Field(ge=1, le=500)


class StationCreate(StationBase):
    id: str = Field(regex=STATION_ID_PATTERN, max_length=63)


class Station(StationBase, table=True):
    id: str = Field(primary_key=True, max_length=63)
    occupancy: int = 0
    online: bool = False
    online_changed_at: datetime | None = _when(nullable=True)
    session_id: str | None = None
    last_event_at: datetime | None = _when(nullable=True)
    # Server time minus station time, seen in the station's last access request.
    clock_offset_s: float | None = None
    offline_reason: str | None = Field(default=None, max_length=32)
    lock_type: str | None = Field(default=None, max_length=16)
    # From the last heartbeat.
    last_heartbeat_at: datetime | None = _when(nullable=True)
    heartbeat_interval_s: float | None = None
    camera_ok: bool | None = None
    outbox_depth: int | None = None
    offline_refusal: str | None = Field(default=None, max_length=32)


class StationPublic(StationBase):
    id: str
    occupancy: int
    online: bool
    online_changed_at: datetime | None
    offline_reason: str | None
    last_event_at: datetime | None
    clock_offset_s: float | None
    lock_type: str | None
    last_heartbeat_at: datetime | None
    camera_ok: bool | None
    outbox_depth: int | None
    offline_refusal: str | None


# -- riders ---------------------------------------------------------------------------------
class Platform(StrEnum):
    FOOD_DELIVERY = "food_delivery"
    COURIER = "courier"
    RIDE_HAILING = "ride_hailing"
    OTHER = "other"


class RiderBase(SQLModel):
    display_name: str = Field(default="", max_length=80)  # for staff only, never in the token
    platform: Platform = Platform.OTHER


class RiderCreate(RiderBase):
    pass


class Rider(RiderBase, table=True):
    id: str = Field(primary_key=True, max_length=32)
    link_secret_hash: str = Field(unique=True, index=True, max_length=64)
    credential_version: int = 1
    # When the credential version last changed: stations keep a denylist entry for a while.
    credential_changed_at: datetime | None = _when(nullable=True, index=True)
    revoked_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()


class RiderPublic(RiderBase):
    id: str
    credential_version: int
    revoked_at: datetime | None
    created_at: datetime


class RiderEnrolled(RiderPublic):
    link: str  # the rider's personal, secret page; shown once


class TokenPublic(SQLModel):
    token: str
    expires_at: datetime


class RiderCode(TokenPublic):
    """What the rider page needs to show and refresh the code."""

    server_time: datetime
    lifetime_s: int
    qr_svg: str


class RiderLink(SQLModel):
    link: str


# -- signing keys and the published configuration -------------------------------------------
class SigningKeyRecord(SQLModel, table=True):
    """An Ed25519 key of the server. Published to stations from creation; signs from
    ``activates_at`` until ``retires_at``; published until its last token has expired."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=16)
    private_pem: str
    created_at: datetime = _when()
    activates_at: datetime = _when()
    retires_at: datetime | None = _when(nullable=True)


class SigningKeyPublic(SQLModel):
    kid: str
    created_at: datetime
    activates_at: datetime
    retires_at: datetime | None


class ConfigState(SQLModel, table=True):
    """One row: the version of what every station's config contains (keys, denylist)."""

    __tablename__ = "config_state"

    id: int = Field(default=1, primary_key=True)
    version: int = 1


class UsedNonce(SQLModel, table=True):
    """A token that has admitted someone: its nonce never admits anyone again, anywhere."""

    __tablename__ = "used_nonce"

    nonce: str = Field(primary_key=True, max_length=32)
    request_id: str = Field(max_length=32)
    station_id: str = Field(max_length=63)
    expires_at: datetime = _when(index=True)


# -- what happened --------------------------------------------------------------------------
class DecisionRecord(SQLModel, table=True):
    __tablename__ = "decision"

    request_id: str = Field(primary_key=True, max_length=32)
    station_id: str = Field(index=True, max_length=63)
    rider_id: str | None = Field(default=None, index=True, max_length=64)
    allowed: bool
    reason: str = Field(max_length=32)
    nonce: str | None = Field(default=None, max_length=32)
    decided_at: datetime = _when(index=True)


class EventRecord(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (UniqueConstraint("station_id", "epoch", "seq", name="event_stream_seq"),)

    event_id: str = Field(primary_key=True, max_length=32)
    station_id: str = Field(index=True, max_length=63)
    epoch: str = Field(max_length=16)
    seq: int
    kind: str = Field(max_length=32, index=True)
    occurred_at: datetime = _when(index=True)
    received_at: datetime = _when()
    rider_id: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=32)
    decided_by: str | None = Field(default=None, max_length=16)
    passage: str | None = Field(default=None, max_length=16)
    suppressed: int | None = None  # denials folded into this one by the station's rate limit
    nonce: str | None = Field(default=None, max_length=32)


class EventStream(SQLModel, table=True):
    """How far the server has every event of one station's outbox stream (epoch)."""

    __tablename__ = "event_stream"

    station_id: str = Field(primary_key=True, max_length=63)
    epoch: str = Field(primary_key=True, max_length=16)
    contiguous_through: int = 0  # every seq up to here is stored
    highest_seen: int = 0


class Summary(SQLModel):
    stations: int
    stations_online: int
    occupancy: int
    events_stored: int
    entries: int
    exits: int
    denials: int
    decisions: int
