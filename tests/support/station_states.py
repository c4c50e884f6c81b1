"""A fleet of stations in every state staff tell apart on the overview and the map, written
straight into the database (no boxes: the rows are what births, heartbeats and events would
have left), with what each should show."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from server.alarms.models import Alarm
from server.reports.station_state import Badge, StationFacts, problem_key
from server.stations.models import Station

# One of each first, in this order (eight stations show every state but "nearly full" alone,
# which the alarmed one also is); after that one station in four has a problem, in turn.
KINDS = (
    "alarm",  # nearly full, with an unacknowledged alarm
    "offline",
    "never_connected",
    "full",
    "lockdown",
    "maintenance",
    "closed_by_hours",
    "open",
    "nearly_full",
)
PROBLEMS = tuple(kind for kind in KINDS if kind != "open")
BADGE_OF = {
    "alarm": Badge.NEARLY_FULL,
    "offline": Badge.OFFLINE,
    "never_connected": Badge.NEVER_CONNECTED,
    "full": Badge.FULL,
    "lockdown": Badge.LOCKDOWN,
    "maintenance": Badge.MAINTENANCE,
    "closed_by_hours": Badge.CLOSED_BY_HOURS,
    "nearly_full": Badge.NEARLY_FULL,
    "open": Badge.OPEN,
}
CLOSED_ALL_WEEK = json.dumps({"weekly": [None] * 7})
OPEN_ALL_DAY = json.dumps({"weekly": [["00:00", "00:00"]] * 7})
CAPACITY = 10


@dataclass(frozen=True, slots=True)
class Planted:
    id: str
    name: str
    kind: str
    facts: StationFacts
    latitude: float | None
    longitude: float | None
    reported_minutes_ago: int | None  # offline ones: the last heartbeat

    @property
    def badge(self) -> Badge:
        return BADGE_OF[self.kind]


def kind_of(index: int) -> str:
    if index < len(KINDS):
        return KINDS[index]
    return PROBLEMS[(index // 4) % len(PROBLEMS)] if index % 4 == 3 else "open"


def plant(engine: Engine, count: int, *, now: datetime | None = None) -> list[Planted]:
    """``count`` stations ``ov-000``…, named 「职工驿站 000」…; the third has no coordinates."""
    now = now or datetime.now(UTC)
    planted: list[Planted] = []
    rows: list[dict[str, object]] = []
    alarms: list[dict[str, object]] = []
    for i in range(count):
        kind = kind_of(i)
        station_id, name = f"ov-{i:03d}", f"职工驿站 {i:03d}"
        occupancy = {"full": CAPACITY, "nearly_full": 8, "alarm": 9}.get(kind, i % 5)
        online = kind not in ("offline", "never_connected")
        minutes = 5 + i % 50 if kind == "offline" else None
        placed = i != 2
        latitude = 22.50 + (i * 37 % 101) / 1000 if placed else None
        longitude = 113.90 + (i * 53 % 211) / 1000 if placed else None
        last_heartbeat = now - timedelta(minutes=minutes) if minutes is not None else None
        rows.append(
            {
                "id": station_id,
                "name": name,
                "capacity": CAPACITY,
                "latitude": latitude,
                "longitude": longitude,
                "occupancy": occupancy,
                "online": online,
                # Went offline at its last heartbeat (as heartbeats missed records it); the
                # online ones came up an hour ago; never-connected ones have no change at all.
                "online_changed_at": None
                if kind == "never_connected"
                else (last_heartbeat if last_heartbeat else now - timedelta(hours=1)),
                "last_heartbeat_at": last_heartbeat,
                "heartbeat_interval_s": 60.0 if last_heartbeat else None,
                "offline_reason": "heartbeat_missed" if kind == "offline" else None,
                "soft_limit": 0.8,
                "maintenance": kind == "maintenance",
                "lockdown": kind == "lockdown",
                "passback": "alert",
                "opening_hours": CLOSED_ALL_WEEK
                if kind == "closed_by_hours"
                else (OPEN_ALL_DAY if i % 3 == 0 else None),
                "closed_by_hours": kind == "closed_by_hours",
                # What the last event left; never shown for a station staff cannot see.
                "door_phase": "locked",
            }
        )
        if kind == "alarm":
            alarms.append(
                {"station_id": station_id, "kind": "held_open", "raised_at": now, "detail": ""}
            )
        facts = StationFacts(
            online=online,
            ever_online=kind != "never_connected",
            lockdown=kind == "lockdown",
            maintenance=kind == "maintenance",
            closed_by_hours=kind == "closed_by_hours",
            occupancy=occupancy,
            capacity=CAPACITY,
            soft_limit=0.8,
            alarms=int(kind == "alarm"),
        )
        planted.append(Planted(station_id, name, kind, facts, latitude, longitude, minutes))
    with engine.begin() as connection:
        connection.execute(insert(Station), rows)
        if alarms:
            connection.execute(insert(Alarm), alarms)
    return planted


def problems_first(planted: list[Planted]) -> list[Planted]:
    """The overview's default order, from the pure rule."""
    return sorted(planted, key=lambda p: problem_key(p.facts, p.id))
