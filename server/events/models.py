"""What stations reported: events once each, how far each outbox stream is stored, the stays
the events imply, and the corrections of a station's count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.audit.models import StaffNote
from server.core.columns import timestamp_field


class EventRecord(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("station_id", "epoch", "seq", name="event_stream_seq"),
        # Staff reads: a station's latest entry is one probe of this index, and counts by kind
        # (``server.reports.tally.recount``; the summary reads counters) read only the second
        # (each also serves what the one-column indexes did).
        Index("ix_event_station_kind_passage_at", "station_id", "kind", "passage", "occurred_at"),
        Index("ix_event_kind_passage", "kind", "passage"),
    )

    event_id: str = Field(primary_key=True, max_length=32)
    station_id: str = Field(max_length=63)
    epoch: str = Field(max_length=16)
    seq: int
    kind: str = Field(max_length=32)
    occurred_at: datetime = timestamp_field(index=True)
    received_at: datetime = timestamp_field()
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


class Stay(SQLModel, table=True):
    """A rider inside a station, as far as the server can tell (exits are not tied to riders)."""

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(index=True, max_length=63)
    rider_id: str = Field(index=True, max_length=64)
    entered_at: datetime = timestamp_field()
    ended_at: datetime | None = timestamp_field(nullable=True, index=True)
    welfare_alerted: bool = False


class CountCorrection(SQLModel, table=True):
    """A station's count set from ``before`` to ``after``: by staff, or by the nightly quiet
    hour. Stored as values, so that the occupancy history can undo it exactly."""

    __tablename__ = "count_correction"

    id: int | None = Field(default=None, primary_key=True)
    station_id: str = Field(index=True, max_length=63)
    at: datetime = timestamp_field(index=True)
    before: int
    after: int
    source: str = Field(max_length=16)  # server.events.occupancy.ChangeSource
    actor: str = Field(max_length=64)
    reason: str = Field(max_length=200)


class OccupancyCorrection(SQLModel):
    """A staff request to set a station's count."""

    target: int = Field(ge=0, le=1000)
    reason: StaffNote


class EventPublic(SQLModel):
    event_id: str
    station_id: str
    seq: int
    kind: str
    occurred_at: datetime
    received_at: datetime
    rider_id: str | None
    reason: str | None
    decided_by: str | None
    passage: str | None
    alarm: str | None
    detail: str | None
    command_id: str | None


class EventPage(SQLModel):
    items: list[EventPublic]
    total: int
    limit: int
    offset: int
