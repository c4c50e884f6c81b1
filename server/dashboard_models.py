"""API shapes of the staff dashboard's read endpoints (kept apart from the tables)."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import SQLModel

from server.models import RiderPublic


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


class RiderPage(SQLModel):
    items: list[RiderPublic]
    total: int
    limit: int
    offset: int


class OccupancyPointPublic(SQLModel):
    start: datetime
    occupancy: int  # at the end of the bucket
    peak: int  # the highest count during the bucket


class OccupancyHistory(SQLModel):
    station_id: str
    range: str
    step_s: int
    capacity: int
    since: datetime
    until: datetime
    points: list[OccupancyPointPublic]


class VisitRowPublic(SQLModel):
    station_id: str
    period_start: date  # local (Asia/Shanghai) date; weeks start on Monday
    visits: int
    unique_riders: int


class VisitsReport(SQLModel):
    period: str
    since: date
    until: date
    rows: list[VisitRowPublic]
    total_visits: int
    unique_riders: int


class PeakHour(SQLModel):
    hour: int  # local hour, 0-23
    visits: int


class PeakHoursReport(SQLModel):
    since: date
    until: date
    station_id: str | None
    hours: list[PeakHour]


class StationRow(SQLModel):
    """One overview row, as the page draws it and as the live stream sends it."""

    id: str
    name: str
    capacity: int
    occupancy: int
    online: bool
    online_changed_at: datetime | None
    door_phase: str
    lockdown: bool
    maintenance: bool
    active_alarms: int
    last_entry_at: datetime | None
