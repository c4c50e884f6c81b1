"""The station's state as staff read it: the badge (first match wins), how urgent, the last
report and its age, and "closed by hours" from the opening-hours rule."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from server.reports.station_state import (
    Age,
    Badge,
    Problem,
    StationFacts,
    age,
    badge,
    last_report,
    problem,
    problem_key,
)
from server.stations.rules import closed_by_hours

OPEN = StationFacts(
    online=True,
    ever_online=True,
    lockdown=False,
    maintenance=False,
    closed_by_hours=False,
    occupancy=2,
    capacity=10,
    soft_limit=0.8,
    alarms=0,
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, Badge.OPEN),
        ({"occupancy": 8}, Badge.NEARLY_FULL),  # the soft limit itself is nearly full
        ({"occupancy": 7}, Badge.OPEN),
        ({"occupancy": 10}, Badge.FULL),
        ({"occupancy": 12}, Badge.FULL),  # over capacity (free entry) is still full
        ({"closed_by_hours": True, "occupancy": 10}, Badge.CLOSED_BY_HOURS),
        ({"maintenance": True, "closed_by_hours": True}, Badge.MAINTENANCE),
        ({"lockdown": True, "maintenance": True}, Badge.LOCKDOWN),
        ({"online": False, "lockdown": True, "occupancy": 10}, Badge.OFFLINE),
        ({"online": False, "ever_online": False}, Badge.NEVER_CONNECTED),
        ({"alarms": 3}, Badge.OPEN),  # alarms have their own column and come first in order
    ],
)
def test_the_badge_is_the_first_state_that_holds(
    change: dict[str, object], expected: Badge
) -> None:
    assert badge(replace(OPEN, **change)) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"alarms": 1, "online": False}, Problem.ALARM),
        ({"online": False, "occupancy": 10}, Problem.OFFLINE),
        ({"online": False, "ever_online": False}, Problem.OFFLINE),
        ({"occupancy": 10, "lockdown": True}, Problem.FULL),
        ({"lockdown": True}, Problem.CLOSED_BY_STAFF),
        ({"maintenance": True, "occupancy": 9}, Problem.CLOSED_BY_STAFF),
        ({"occupancy": 9}, Problem.NEARLY_FULL),
        ({"closed_by_hours": True}, Problem.NONE),  # closed at night is no problem
        ({}, Problem.NONE),
    ],
)
def test_how_urgent(change: dict[str, object], expected: Problem) -> None:
    assert problem(replace(OPEN, **change)) is expected  # type: ignore[arg-type]


def test_problems_first_then_more_alarms_then_by_id() -> None:
    stations = {
        "a-open": OPEN,
        "b-offline": replace(OPEN, online=False),
        "c-one-alarm": replace(OPEN, alarms=1),
        "d-full": replace(OPEN, occupancy=10),
        "e-three-alarms": replace(OPEN, alarms=3),
        "f-lockdown": replace(OPEN, lockdown=True),
        "g-nearly": replace(OPEN, occupancy=9),
        "h-never": replace(OPEN, online=False, ever_online=False),
    }
    ordered = sorted(stations, key=lambda sid: problem_key(stations[sid], sid))
    assert ordered == [
        "e-three-alarms",
        "c-one-alarm",
        "b-offline",
        "h-never",
        "d-full",
        "f-lockdown",
        "g-nearly",
        "a-open",
    ]


T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_the_last_report_is_the_newest_thing_the_station_said() -> None:
    beat, event, changed = T0, T0 + timedelta(minutes=3), T0 + timedelta(minutes=9)
    assert last_report(beat, event, changed) == event  # a will is the broker's, not a report
    assert last_report(beat, None, changed) == beat
    assert last_report(None, None, changed) == changed  # connected, never said more
    assert last_report(None, None, None) is None


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-30, (Age.JUST_NOW, 0)),  # a station clock slightly ahead
        (0, (Age.JUST_NOW, 0)),
        (59, (Age.JUST_NOW, 0)),
        (60, (Age.MINUTES, 1)),
        (3599, (Age.MINUTES, 59)),
        (3600, (Age.HOURS, 1)),
        (86_399, (Age.HOURS, 23)),
        (86_400, (Age.DAYS, 1)),
        (10 * 86_400 + 5, (Age.DAYS, 10)),
    ],
)
def test_age_in_the_unit_staff_read(seconds: int, expected: tuple[Age, int]) -> None:
    assert age(T0, T0 + timedelta(seconds=seconds)) == expected


NIGHTS = json.dumps({"weekly": [["20:00", "08:00"]] * 7})
NOON = datetime(2026, 12, 2, 4, 0, tzinfo=UTC).timestamp()  # 12:00 in Shanghai
NIGHT = NOON + 14 * 3600  # 02:00


def test_closed_by_hours_follows_the_hours_in_china_time() -> None:
    assert closed_by_hours(NIGHTS, None, NOON)
    assert not closed_by_hours(NIGHTS, None, NIGHT)  # last night's span runs into the morning
    assert not closed_by_hours(None, None, NOON)  # no hours: open 24 hours
    assert not closed_by_hours(NIGHTS, "cold_snap", NOON)  # free entry ignores the hours


def test_closed_by_hours_refuses_hours_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="seven days"):
        closed_by_hours(json.dumps({"weekly": []}), None, NOON)
