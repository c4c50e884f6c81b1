"""Tables and API shapes (SQLModel: Base / Create / Public / table families)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from protocol.payloads import CommandKind, StationMode
from protocol.topics import STATION_ID_PATTERN
from server.access.policy import Emergency, PassbackMode


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
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class StationCreate(StationBase):
    id: str = Field(regex=STATION_ID_PATTERN, max_length=63)


class StationRulesUpdate(SQLModel):
    """A staff change to a station's standing rules; every field optional, reason required."""

    capacity: int | None = Field(default=None, ge=1, le=500)
    soft_limit: float | None = Field(default=None, gt=0, le=1)
    maintenance: bool | None = None
    emergency: Emergency | None = None
    end_emergency: bool = False
    passback: PassbackMode | None = None
    # {"weekly": [["08:00", "22:00"], null, ...7 days], "holidays": {"2026-10-01": null}}
    # or null for 24 hours.
    opening_hours: dict[str, Any] | None = None
    open_all_day: bool = False
    outdoor_temp_c: float | None = Field(default=None, ge=-60, le=60)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    reason: str = Field(min_length=1, max_length=200)


class Station(StationBase, table=True):
    id: str = Field(primary_key=True, max_length=63)
    occupancy: int = 0
    online: bool = False
    online_changed_at: datetime | None = _when(nullable=True)
    session_id: str | None = None
    last_event_at: datetime | None = _when(nullable=True)
    # Server time minus station time, seen in the station's last access request.
    clock_offset_s: float | None = None
    # Standing rules (server.access.policy).
    soft_limit: float = 0.8
    maintenance: bool = False
    lockdown: bool = False
    emergency: str | None = Field(default=None, max_length=16)
    passback: str = Field(default="alert", max_length=8)
    opening_hours: str | None = None  # JSON, see StationRulesUpdate; None: 24 hours
    outdoor_temp_c: float | None = None
    last_reconciled_on: str | None = Field(default=None, max_length=10)  # local date
    door_phase: str = Field(default="locked", max_length=16)
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
    soft_limit: float
    maintenance: bool
    lockdown: bool
    emergency: str | None
    passback: str
    door_phase: str
    active_alarms: int = 0


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
    flags: str = Field(default="", max_length=100)  # staff flags from the station's rules
    nearby_station: str | None = Field(default=None, max_length=80)
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
    alarm: str | None = Field(default=None, max_length=32)
    detail: str | None = Field(default=None, max_length=200)
    command_id: str | None = Field(default=None, max_length=32)
    # Effects (count, door phase, alarms, stays) are applied in sequence order, when every
    # earlier event of the stream is stored: the count does not depend on delivery order.
    applied: bool = False


class EventStream(SQLModel, table=True):
    """How far the server has every event of one station's outbox stream (epoch)."""

    __tablename__ = "event_stream"

    station_id: str = Field(primary_key=True, max_length=63)
    epoch: str = Field(primary_key=True, max_length=16)
    contiguous_through: int = 0  # every seq up to here is stored
    highest_seen: int = 0


class Alarm(SQLModel, table=True):
    """A door or welfare alarm; active until cleared, shown until acknowledged."""

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(index=True, max_length=63)
    kind: str = Field(max_length=32)
    raised_at: datetime = _when(index=True)
    cleared_at: datetime | None = _when(nullable=True)
    detail: str = Field(default="", max_length=200)
    rider_id: str | None = Field(default=None, max_length=64)
    acknowledged_at: datetime | None = _when(nullable=True)
    acknowledged_by: str | None = Field(default=None, max_length=64)


class AlarmPublic(SQLModel):
    id: int
    station_id: str
    kind: str
    raised_at: datetime
    cleared_at: datetime | None
    detail: str
    rider_id: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class AuditEntry(SQLModel, table=True):
    """Who did what, when and why: staff actions and what stations did with them."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32)
    station_id: str | None = Field(default=None, index=True, max_length=63)
    rider_id: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", max_length=200)
    detail: str = Field(default="", max_length=500)


class AuditPublic(SQLModel):
    id: int
    at: datetime
    actor: str
    action: str
    station_id: str | None
    rider_id: str | None
    reason: str
    detail: str


class Stay(SQLModel, table=True):
    """A rider inside a station, as far as the server can tell (exits are not tied to riders)."""

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(index=True, max_length=63)
    rider_id: str = Field(index=True, max_length=64)
    entered_at: datetime = _when()
    ended_at: datetime | None = _when(nullable=True, index=True)
    welfare_alerted: bool = False


class CommandCreate(SQLModel):
    kind: CommandKind
    mode: StationMode | None = None
    reason: str = Field(min_length=1, max_length=200)


class CommandPublic(SQLModel):
    command_id: str
    station_id: str
    kind: CommandKind
    issued_at: datetime
    expires_at: datetime


class OccupancyCorrection(SQLModel):
    target: int = Field(ge=0, le=1000)
    reason: str = Field(min_length=1, max_length=200)


# -- staff ---------------------------------------------------------------------------------
class Role(StrEnum):
    VIEWER = "viewer"  # sees everything, changes nothing
    OPERATOR = "operator"  # acknowledges alarms, unlocks doors, enrols and revokes riders
    ADMIN = "admin"  # stations, rules, keys, staff accounts

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"

    username: str = Field(primary_key=True, max_length=64)
    password_hash: str
    role: Role = Role.VIEWER
    created_at: datetime = _when()
    failed_logins: int = 0
    locked_until: datetime | None = _when(nullable=True)


class StaffCreate(SQLModel):
    username: str = Field(regex=r"^[A-Za-z0-9_.-]{2,64}$")
    password: str = Field(min_length=10, max_length=200)
    role: Role = Role.VIEWER


class StaffPublic(SQLModel):
    username: str
    role: Role
    created_at: datetime


class StaffSession(SQLModel, table=True):
    """A login: the cookie or bearer token is stored only as a hash."""

    __tablename__ = "staff_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    username: str = Field(index=True, max_length=64)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _when()
    expires_at: datetime = _when(index=True)


class LoginRequest(SQLModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class LoginResult(SQLModel):
    username: str
    role: Role
    token: str  # bearer token for API clients; browsers use the cookie
    csrf_token: str


class Summary(SQLModel):
    stations: int
    stations_online: int
    occupancy: int
    events_stored: int
    entries: int
    exits: int
    denials: int
    decisions: int
