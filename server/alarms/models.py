"""Alarms: door alarms the stations raise and welfare alarms the server raises."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.core.columns import timestamp_field


class Alarm(SQLModel, table=True):
    """A door or welfare alarm; active until cleared, shown until acknowledged."""

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(index=True, max_length=63)
    kind: str = Field(max_length=32)
    raised_at: datetime = timestamp_field(index=True)
    cleared_at: datetime | None = timestamp_field(nullable=True)
    detail: str = Field(default="", max_length=200)
    rider_id: str | None = Field(default=None, max_length=64)
    acknowledged_at: datetime | None = timestamp_field(nullable=True)
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
