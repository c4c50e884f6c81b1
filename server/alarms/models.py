"""Alarms: door alarms the stations raise and welfare alarms the server raises."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from server.audit.models import OptionalNote, StaffNote
from server.core.columns import timestamp_field


class AlarmState(StrEnum):
    """Where staff are with an alarm: new (open), seen and being handled (acknowledged),
    done with a note saying how (resolved). Whether the station says the condition is over
    is ``cleared_at``, a separate fact."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Alarm(SQLModel, table=True):
    """A door or welfare alarm; active until cleared, open until acknowledged, handled once
    resolved (resolving acknowledges too, so "unacknowledged" stays the open count)."""

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(index=True, max_length=63)
    kind: str = Field(max_length=32)
    raised_at: datetime = timestamp_field(index=True)
    cleared_at: datetime | None = timestamp_field(nullable=True, index=True)
    detail: str = Field(default="", max_length=200)
    rider_id: str | None = Field(default=None, max_length=64)
    acknowledged_at: datetime | None = timestamp_field(nullable=True, index=True)
    acknowledged_by: str | None = Field(default=None, max_length=64)
    acknowledged_note: str = Field(default="", max_length=200)
    resolved_at: datetime | None = timestamp_field(nullable=True, index=True)
    resolved_by: str | None = Field(default=None, max_length=64)
    resolution: str = Field(default="", max_length=200)

    @property
    def state(self) -> AlarmState:
        if self.resolved_at is not None:
            return AlarmState.RESOLVED
        if self.acknowledged_at is not None:
            return AlarmState.ACKNOWLEDGED
        return AlarmState.OPEN


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
    acknowledged_note: str = ""
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str = ""
    state: AlarmState = AlarmState.OPEN


class AlarmPage(SQLModel):
    items: list[AlarmPublic]
    total: int
    limit: int
    offset: int


class AlarmNote(SQLModel):
    """Acknowledging: a note is optional."""

    note: OptionalNote = ""


class AlarmResolution(SQLModel):
    """Resolving: what was done, required."""

    note: StaffNote
