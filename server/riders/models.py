"""Riders: the table (pseudonymous id, link secret hash, credential version) and API shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from server.audit.models import OptionalNote
from server.core.columns import timestamp_field


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
    # A denylist page is read by bucket, newest change first.
    __table_args__ = (Index("ix_rider_denylist", "denylist_bucket", "credential_changed_at"),)

    id: str = Field(primary_key=True, max_length=32)
    link_secret_hash: str = Field(unique=True, index=True, max_length=64)
    credential_version: int = 1
    # When the credential version last changed: stations keep a denylist entry for a while.
    credential_changed_at: datetime | None = timestamp_field(nullable=True, index=True)
    # protocol.trust.bucket_of(id): the denylist page this rider's entry is published on.
    denylist_bucket: int = 0
    revoked_at: datetime | None = timestamp_field(nullable=True)
    created_at: datetime = timestamp_field()


class RiderPublic(RiderBase):
    id: str
    credential_version: int
    revoked_at: datetime | None
    created_at: datetime


class RiderEnrolled(RiderPublic):
    link: str  # the rider's personal, secret page; shown once


class RiderPage(SQLModel):
    items: list[RiderPublic]
    total: int
    limit: int
    offset: int


class TokenPublic(SQLModel):
    token: str
    expires_at: datetime


class RiderCode(TokenPublic):
    """What the rider page needs to show and refresh the code."""

    server_time: datetime
    lifetime_s: int
    qr_svg: str


class RiderChange(SQLModel):
    """Why staff revoke a rider or renew a link: optional, kept in the audit trail."""

    reason: OptionalNote = ""


class RiderLink(SQLModel):
    link: str
