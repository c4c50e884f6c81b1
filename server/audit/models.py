"""The audit trail: who did what, when and why."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.core.columns import timestamp_field


class AuditEntry(SQLModel, table=True):
    """Staff actions and what stations did with them."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = timestamp_field(index=True)
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
