"""Joining without a desk: requests riders make at /join, invite codes staff hand out, the
attempts counted per client address; and the API's shapes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from server.core.columns import timestamp_field
from server.join.rules import MAX_INVITE_DAYS, MAX_INVITES_PER_BATCH, JoinStatus
from server.riders.models import Platform


class JoinRequest(SQLModel, table=True):
    """A rider asked to join; staff approve or refuse it, or an invite code approved it."""

    __tablename__ = "join_request"
    __table_args__ = (Index("ix_join_request_status", "status", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=8)  # shown to the rider and to staff
    token_hash: str = Field(unique=True, max_length=64)  # the secret the rider's page holds
    link_hash: str = Field(max_length=64)  # of the personal link derived from that token
    platform: Platform
    display_name: str = Field(default="", max_length=40)
    phone_hash: str | None = Field(default=None, max_length=64)
    status: str = Field(default=JoinStatus.PENDING.value, max_length=16)
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field()
    decided_at: datetime | None = timestamp_field(nullable=True)
    decided_by: str | None = Field(default=None, max_length=64)
    rider_id: str | None = Field(default=None, max_length=32)
    invite_code: str | None = Field(default=None, max_length=16)


class JoinAttempt(SQLModel, table=True):
    """One try at /api/join from a client address (IPv4, or an IPv6 /64), counted before it
    is handled, so a burst from several workers cannot slip past the limit; kept only for the
    window."""

    __tablename__ = "join_attempt"
    __table_args__ = (Index("ix_join_attempt_client", "client", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(max_length=64)
    at: datetime = timestamp_field()


class InviteBatch(SQLModel, table=True):
    """Invite codes made together, for one platform (a station manager hands them out)."""

    __tablename__ = "invite_batch"

    id: int | None = Field(default=None, primary_key=True)
    platform: Platform
    note: str = Field(default="", max_length=80)
    count: int
    created_by: str = Field(max_length=64)
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field()


class InviteCode(SQLModel, table=True):
    """One invite: it enrols one rider, once, before its batch expires. Kept as it is (not
    hashed), since staff print the list again; it grants a place in the queue of riders, not
    entry, and only once (docs/security.md)."""

    __tablename__ = "invite_code"

    code: str = Field(primary_key=True, max_length=16)
    batch_id: int = Field(foreign_key="invite_batch.id", index=True)
    used_at: datetime | None = timestamp_field(nullable=True)
    rider_id: str | None = Field(default=None, max_length=32)


# -- the API's shapes ---------------------------------------------------------------------------


class JoinAsk(SQLModel):
    """What /join sends. Plain strings with generous caps: the route checks each and answers
    with a code the page words (``join.error_<code>``)."""

    platform: str = Field(max_length=32)
    display_name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=32)
    invite: str = Field(default="", max_length=32)


class JoinToken(SQLModel):
    token: str = Field(min_length=1, max_length=100)


class JoinState(SQLModel):
    """What the rider's page polls: the status and, once approved, the personal link."""

    status: JoinStatus
    code: str
    expires_at: datetime
    link: str | None = None


class JoinCreated(JoinState):
    token: str  # the page keeps it; only its hash is stored


class JoinRequestPublic(SQLModel):
    """A request as staff see it."""

    id: int
    code: str
    platform: Platform
    display_name: str
    status: JoinStatus
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    rider_id: str | None


class InviteAsk(SQLModel):
    platform: Platform
    count: int = Field(ge=1, le=MAX_INVITES_PER_BATCH)
    days: int = Field(default=30, ge=1, le=MAX_INVITE_DAYS)
    note: str = Field(default="", max_length=80)


class InviteCodePublic(SQLModel):
    code: str
    used_at: datetime | None
    rider_id: str | None


class InviteBatchPublic(SQLModel):
    id: int
    platform: Platform
    note: str
    count: int
    used: int
    created_by: str
    created_at: datetime
    expires_at: datetime


class InviteBatchCreated(InviteBatchPublic):
    codes: list[InviteCodePublic]
