"""What the access decisions leave behind: each decision once, and the nonces codes used up."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.core.columns import timestamp_field


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
    decided_at: datetime = timestamp_field(index=True)


class UsedNonce(SQLModel, table=True):
    """A token that has admitted someone: its nonce never admits anyone again, anywhere."""

    __tablename__ = "used_nonce"

    nonce: str = Field(primary_key=True, max_length=32)
    request_id: str = Field(max_length=32)
    station_id: str = Field(max_length=63)
    expires_at: datetime = timestamp_field(index=True)
