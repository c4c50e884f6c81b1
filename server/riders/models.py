"""Riders: the table (pseudonymous id, link secret hash, credential version) and API shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from server.audit.models import OptionalNote
from server.core.columns import timestamp_field


class Platform(StrEnum):
    MEITUAN = "meituan"
    ELEME = "eleme"
    SF_EXPRESS = "sf_express"
    JD = "jd"
    DIDI = "didi"
    OTHER = "other"
    # Kinds of work, from before riders named their platform: kept for riders enrolled then.
    FOOD_DELIVERY = "food_delivery"
    COURIER = "courier"
    RIDE_HAILING = "ride_hailing"


# What a rider or staff member picks from today (the rest only describe older riders).
CHOSEN_PLATFORMS = (
    Platform.MEITUAN,
    Platform.ELEME,
    Platform.SF_EXPRESS,
    Platform.JD,
    Platform.DIDI,
    Platform.OTHER,
)


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
    # Only when the deployment asks for a number: HMAC-SHA256 under a key the database never
    # holds (server/join/rules.py, docs/security.md), to find a rider by the number they give.
    phone_hash: str | None = Field(default=None, max_length=64, index=True)


class DeviceCertRecord(SQLModel, table=True):
    """A device certificate issued to one of a rider's phones (``protocol.device_cert``): the
    issuing rate limit counts them; the minute jobs delete them a day after they expire."""

    __tablename__ = "device_cert"
    __table_args__ = (Index("ix_device_cert_rider", "rider_id", "issued_at"),)

    id: int | None = Field(default=None, primary_key=True)
    rider_id: str = Field(foreign_key="rider.id", max_length=32)
    kid: str = Field(max_length=16)  # the rider key that signed it
    device_key: str = Field(max_length=64)  # base64 of the compressed P-256 point
    credential_version: int
    issued_at: datetime = timestamp_field()
    not_after: datetime = timestamp_field(index=True)


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


class DeviceCertRequest(SQLModel):
    """A phone asks for a device certificate: its public key, as WebCrypto exports it."""

    public_key: str = Field(
        min_length=40,
        max_length=100,
        description="P-256 public key, SEC1 point (65 bytes uncompressed or 33 compressed), "
        "base64url",
    )


class DeviceCertPublic(SQLModel):
    """What the phone keeps to make device codes: ``certificate`` (base64url of the signed
    certificate bytes, ``protocol.device_cert``) and its validity, with the server's time so
    the phone can correct its own clock."""

    certificate: str
    kid: str
    not_before: datetime
    not_after: datetime
    presentation_lifetime_s: int
    server_time: datetime


class RiderChange(SQLModel):
    """Why staff revoke a rider or renew a link: optional, kept in the audit trail."""

    reason: OptionalNote = ""


class RiderLink(SQLModel):
    link: str
