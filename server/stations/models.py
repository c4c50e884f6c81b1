"""Stations: the table (identity, standing rules, what the station last said) and API shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, LargeBinary, String
from sqlmodel import Field, SQLModel

from protocol.payloads import (
    MAX_CONFIG_ERROR,
    MAX_NOT_READY,
    CommandKind,
    ProvisioningBundle,
    StationMode,
)
from protocol.topics import STATION_ID_PATTERN
from server.access.policy import Emergency, PassbackMode
from server.audit.models import StaffNote
from server.core.columns import timestamp_field

NOT_READY_COLUMN = MAX_NOT_READY * 33  # codes of up to 32 characters, comma-joined
ADDRESS_MAX = 120


class Amenity(StrEnum):
    """What a station offers, as riders read it on the finder (words: ``code.amenity_*``)."""

    SEATS = "seats"
    WATER = "water"
    MICROWAVE = "microwave"
    FRIDGE = "fridge"
    CHARGING = "charging"
    MEDICINE_BOX = "medicine_box"
    UMBRELLAS = "umbrellas"
    TOILET = "toilet"
    WIFI = "wifi"


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
    # {"weekly": [["08:00", "22:00"], null, ...7 days], "holidays": {"2026-10-01": null}},
    # optionally "public_holidays" and "adjusted_workdays" spans (China's calendar, 调休),
    # or null for 24 hours.
    opening_hours: dict[str, Any] | None = None
    open_all_day: bool = False
    outdoor_temp_c: float | None = Field(default=None, ge=-60, le=60)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    reason: StaffNote


class Station(StationBase, table=True):
    id: str = Field(primary_key=True, max_length=63)
    occupancy: int = 0
    online: bool = False
    online_changed_at: datetime | None = timestamp_field(nullable=True)
    session_id: str | None = None
    last_event_at: datetime | None = timestamp_field(nullable=True)
    # Server time minus station time, seen in the station's last access request.
    clock_offset_s: float | None = None
    # Standing rules (server.access.policy).
    soft_limit: float = 0.8
    maintenance: bool = False
    lockdown: bool = False
    emergency: str | None = Field(default=None, max_length=16)
    passback: str = Field(default="alert", max_length=8)
    opening_hours: str | None = None  # JSON, see StationRulesUpdate; None: 24 hours
    # Refused by its opening hours right now (not in free entry): kept by the minute job and
    # by a rules change (server.stations.opening), so the overview counts it in SQL.
    closed_by_hours: bool = False
    outdoor_temp_c: float | None = None
    last_reconciled_on: str | None = Field(default=None, max_length=10)  # local date
    door_phase: str = Field(default="locked", max_length=16)
    offline_reason: str | None = Field(default=None, max_length=32)
    lock_type: str | None = Field(default=None, max_length=16)
    # From the last heartbeat.
    last_heartbeat_at: datetime | None = timestamp_field(nullable=True)
    heartbeat_interval_s: float | None = None
    camera_ok: bool | None = None
    outbox_depth: int | None = None
    offline_refusal: str | None = Field(default=None, max_length=32)
    config_error: str | None = Field(default=None, max_length=MAX_CONFIG_ERROR)  # it dropped one
    # Why it said it is not ready, its codes comma-joined; None when it is.
    not_ready: str | None = Field(default=None, max_length=NOT_READY_COLUMN)
    # Identity, from provisioning: the station's Ed25519 public key (it signs what it reports)
    # and its broker password, stored only as Mosquitto's own hash ($7$: PBKDF2-SHA512).
    public_key: str | None = Field(default=None, max_length=64)
    broker_password_hash: str | None = Field(default=None, max_length=200)
    # What riders read on the finder (server/finder): staff edit them (StationDetailsUpdate).
    address: str | None = Field(default=None, max_length=ADDRESS_MAX)
    amenities: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


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
    config_error: str | None = None
    not_ready: str | None = None
    soft_limit: float
    maintenance: bool
    lockdown: bool
    emergency: str | None
    passback: str
    door_phase: str
    active_alarms: int = 0


class StationPage(SQLModel):
    items: list[StationPublic]
    total: int
    limit: int
    offset: int


class StationProvisioned(StationPublic):
    """A station just provisioned: its bundle is shown this once (the server keeps no secret
    of it: only the public key and the password's hash)."""

    bundle: ProvisioningBundle


class ConfigState(SQLModel, table=True):
    """One row: the version of what every station's config contains (keys, denylist)."""

    __tablename__ = "config_state"

    id: int = Field(default=1, primary_key=True)
    version: int = 1


class CommandCreate(SQLModel):
    kind: CommandKind
    mode: StationMode | None = None
    # With set_mode free_entry: why shelter comes first now (heat wave, typhoon, cold snap).
    emergency: Emergency | None = None
    # A remote unlock for a station that is offline now reaches it only if it reconnects
    # before the command expires: staff say they know (the page warns them first).
    confirm_offline: bool = False
    reason: StaffNote


class CommandPublic(SQLModel):
    command_id: str
    station_id: str
    kind: CommandKind
    issued_at: datetime
    expires_at: datetime


class ReprovisionRequest(SQLModel):
    reason: StaffNote


class StationDetailsUpdate(SQLModel):
    """A staff change to what riders read about a station; every field optional, reason
    required. An empty address clears it; amenities are the whole new list."""

    address: str | None = Field(default=None, max_length=ADDRESS_MAX)
    amenities: list[Amenity] | None = Field(default=None, max_length=len(Amenity))
    reason: str = Field(min_length=1, max_length=200)


class StationDetails(SQLModel):
    id: str
    address: str | None
    amenities: list[Amenity]
    photo_url: str | None


class StationPhoto(SQLModel, table=True):
    """A station's photo, re-encoded as a JPEG at upload (server/stations/photos.py); kept in
    the database, so every server worker serves the same one."""

    __tablename__ = "station_photo"

    station_id: str = Field(
        sa_column=Column(String(63), ForeignKey("station.id", ondelete="CASCADE"), primary_key=True)
    )
    digest: str = Field(max_length=16)  # in the photo's address: a new photo, a new address
    content_type: str = Field(max_length=32)
    width: int
    height: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_at: datetime = timestamp_field()
