"""API shapes of the staff dashboard's figures: overview rows, summary, occupancy history,
visit reports."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import SQLModel


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
    soft_limit: float  # past this share of the capacity a station is nearly full
    occupancy: int
    online: bool
    online_changed_at: datetime | None
    door_phase: str
    lockdown: bool
    maintenance: bool
    active_alarms: int
    last_entry_at: datetime | None
    config_error: str | None = None  # a config or trust page the station dropped
    not_ready: str | None = None  # the station's reason codes, comma-joined
    # server.reports.station_state: the badge, how urgent (lower first), when it last said
    # anything and, offline, why.
    state: str = "open"
    problem: int = 5
    last_report_at: datetime | None = None
    offline_reason: str | None = None
    closed_by_hours: bool = False


class StationCounts(SQLModel):
    """The stations at a glance, counted in SQL: what the dashboard's tiles show."""

    stations: int
    stations_online: int
    stations_offline: int
    stations_with_alarms: int  # with at least one unacknowledged alarm
    alarms_open: int  # unacknowledged alarms
    stations_full: int
    stations_nearly_full: int  # at or past the soft limit, not yet full
    stations_lockdown: int
    stations_maintenance: int
    occupancy: int  # people inside, all stations together
    stations_closed_by_hours: int = 0  # refused by their opening hours now


class Summary(StationCounts):
    events_stored: int
    entries: int
    exits: int
    denials: int
    decisions: int


class MapMarker(SQLModel):
    """A station on the map: what ``server/web/static/station_map.js`` draws (a rider-facing
    map can give it the same shape without the staff's fields)."""

    id: str
    name: str
    lat: float
    lon: float
    state: str  # server.reports.station_state.Badge
    free: int | None  # places left; None while the station cannot be seen
    capacity: int
    problem: int  # lower is more urgent (station_state.Problem)
    alarms: int  # unacknowledged
    door: str | None  # the door's phase; None while the station cannot be seen


class MapStations(SQLModel):
    markers: list[MapMarker]
    unplaced: int  # stations without coordinates, not on the map
