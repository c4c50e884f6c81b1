"""The overview's reads on SQLite and PostgreSQL: problems first in SQL exactly as the pure
rule orders them, every tile's filter and count agreeing, the badge of each row, and the
"closed by hours" flag kept by the minute job and by a rules change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from server.reports.listing import (
    StationOrder,
    StationQuery,
    StationState,
    station_counts,
    station_page,
)
from server.reports.overview import overview_page
from server.reports.station_state import Badge
from server.stations.models import Station
from server.stations.opening import refresh_closed_by_hours
from tests.support.station_states import (
    CLOSED_ALL_WEEK,
    Planted,
    plant,
    problems_first,
)

COUNT = 44


def _ids(found: list[tuple[Station, int]]) -> list[str]:
    return [station.id for station, _ in found]


def _matches(state: StationState, p: Planted) -> bool:
    f = p.facts
    return {
        StationState.ALL: True,
        StationState.ONLINE: f.online,
        StationState.OFFLINE: not f.online,
        StationState.ALARMS: f.alarms > 0,
        StationState.FULL: f.occupancy >= f.capacity,
        StationState.NEARLY_FULL: f.soft_limit * f.capacity <= f.occupancy < f.capacity,
        StationState.LOCKDOWN: f.lockdown,
        StationState.MAINTENANCE: f.maintenance,
        StationState.CLOSED_BY_HOURS: f.closed_by_hours,
    }[state]


def test_problems_first_in_sql_is_the_pure_order_page_by_page(engine: Engine) -> None:
    planted = plant(engine, COUNT)
    expected = [p.id for p in problems_first(planted)]
    # The order: alarms, offline, full, lockdown or maintenance, then the rest (with
    # nearly full first among them).
    urgency = {"alarm": 0, "offline": 1, "never_connected": 1, "full": 2, "lockdown": 3}
    urgency |= {"maintenance": 3, "nearly_full": 4, "closed_by_hours": 5, "open": 5}
    ranks = [urgency[p.kind] for p in problems_first(planted)]
    assert ranks == sorted(ranks)
    assert ranks[:2] == [0, 0]
    with Session(engine) as session:
        query = StationQuery(order=StationOrder.PROBLEMS)
        pages = [
            station_page(session, query=query, limit=10, offset=o) for o in (0, 10, 20, 30, 40)
        ]
    assert [sid for found, _ in pages for sid in _ids(found)] == expected
    assert {total for _, total in pages} == {COUNT}


@pytest.mark.parametrize("state", list(StationState))
def test_every_tile_counts_and_filters_the_same_stations(
    engine: Engine, state: StationState
) -> None:
    planted = plant(engine, COUNT)
    wanted = sorted(p.id for p in planted if _matches(state, p))
    assert wanted, f"the fleet has no {state} station"
    with Session(engine) as session:
        found, total = station_page(session, query=StationQuery(state=state), limit=100, offset=0)
        counts = station_counts(session)
    assert _ids(found) == wanted
    assert total == len(wanted)
    tile = {
        StationState.ALL: counts.stations,
        StationState.ONLINE: counts.stations_online,
        StationState.OFFLINE: counts.stations_offline,
        StationState.ALARMS: counts.stations_with_alarms,
        StationState.FULL: counts.stations_full,
        StationState.NEARLY_FULL: counts.stations_nearly_full,
        StationState.LOCKDOWN: counts.stations_lockdown,
        StationState.MAINTENANCE: counts.stations_maintenance,
        StationState.CLOSED_BY_HOURS: counts.stations_closed_by_hours,
    }[state]
    assert tile == len(wanted)


def test_rows_carry_their_badge_and_what_is_known_of_unseen_stations(engine: Engine) -> None:
    now = datetime.now(UTC)
    planted = {p.id: p for p in plant(engine, 9, now=now)}
    with Session(engine) as session:
        rows, _ = overview_page(session, query=StationQuery(), limit=20, offset=0)
    for row in rows:
        assert row.state == planted[row.id].badge.value, row.id
    by_kind = {planted[row.id].kind: row for row in rows}
    offline, never = by_kind["offline"], by_kind["never_connected"]
    assert offline.offline_reason == "heartbeat_missed"
    assert offline.last_report_at is not None
    minutes = planted[offline.id].reported_minutes_ago
    assert minutes is not None
    assert abs(offline.last_report_at - (now - timedelta(minutes=minutes))) < timedelta(seconds=1)
    assert (never.state, never.last_report_at) == (Badge.NEVER_CONNECTED.value, None)
    assert by_kind["open"].last_report_at is None  # online: not shown, not sent on each beat


def test_the_minute_job_keeps_closed_by_hours_with_the_clock(engine: Engine) -> None:
    plant(engine, 9)
    now = datetime.now(UTC)
    with Session(engine) as session:
        assert refresh_closed_by_hours(session, now=now) == []  # planted as they are
        late = session.get(Station, "ov-001")
        assert late is not None
        # Open 22:00-06:00 local: closed at noon, open at midnight (and on into the morning).
        late.opening_hours = json.dumps({"weekly": [["22:00", "06:00"]] * 7})
        closed = session.get(Station, "ov-006")
        assert closed is not None
        closed.emergency = "typhoon"  # free entry: the hours do not close it
        session.add_all([late, closed])
        session.commit()
        noon = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
        assert refresh_closed_by_hours(session, now=noon) == ["ov-001", "ov-006"]
        session.commit()
        assert station_counts(session).stations_closed_by_hours == 1
        night = noon + timedelta(hours=14)  # 02:00 the next day
        assert refresh_closed_by_hours(session, now=night) == ["ov-001"]
        session.commit()
        assert station_counts(session).stations_closed_by_hours == 0
        assert refresh_closed_by_hours(session, now=night) == []  # nothing left to change


def test_hours_that_no_longer_read_count_as_open_and_do_not_stop_the_job(
    engine: Engine,
) -> None:
    plant(engine, 9)
    with Session(engine) as session:
        broken = session.get(Station, "ov-006")  # planted closed by hours
        assert broken is not None
        broken.opening_hours = json.dumps({"weekly": "always"})
        other = session.get(Station, "ov-000")
        assert other is not None
        other.opening_hours = CLOSED_ALL_WEEK
        session.add_all([broken, other])
        session.commit()
        assert refresh_closed_by_hours(session, now=datetime.now(UTC)) == ["ov-000", "ov-006"]
        session.commit()
        assert session.get(Station, "ov-000").closed_by_hours is True  # type: ignore[union-attr]
        assert session.get(Station, "ov-006").closed_by_hours is False  # type: ignore[union-attr]
