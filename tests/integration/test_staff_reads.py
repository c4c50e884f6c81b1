"""Staff reads counted by the database, checked against the pure figures and against plain
Python over the same rows, on SQLite and PostgreSQL: reports, station counts, station pages."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from server.alarms.models import Alarm
from server.core.localtime import offset_changes
from server.events.models import EventRecord
from server.reports import aggregates, figures
from server.reports.listing import (
    StationOrder,
    StationQuery,
    StationState,
    station_counts,
    station_page,
)
from server.reports.overview import station_facts
from server.reports.station_state import problem_key
from server.reports.views import report_window
from server.stations.models import Station


def _generated_entries(seed: int) -> list[figures.Entry]:
    """Entries around local midnights, Sundays and Mondays, with and without a rider."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 25, 15, 30, tzinfo=UTC)  # 23:30 on Sunday 25th in Shanghai
    return [
        figures.Entry(
            station_id=f"st-{rng.randrange(4)}",
            at=start + timedelta(minutes=rng.randrange(30 * 24 * 60), seconds=rng.randrange(60)),
            rider_id=None if rng.random() < 0.1 else f"r-{rng.randrange(40)}",
        )
        for _ in range(1500)
    ]


def _store(engine: Engine, entries: list[figures.Entry]) -> None:
    with Session(engine) as session:
        for seq, entry in enumerate(entries, start=1):
            session.add(
                EventRecord(
                    event_id=uuid.uuid4().hex,
                    station_id=entry.station_id,
                    epoch="e1",
                    seq=seq,
                    kind="door_opened",
                    passage="entry",
                    rider_id=entry.rider_id,
                    occurred_at=entry.at,
                    received_at=entry.at,
                )
            )
        # Not entries: an exit, a grant; they count nowhere.
        for seq, kind, passage in ((9001, "door_opened", "exit"), (9002, "access_granted", None)):
            at = entries[0].at
            session.add(
                EventRecord(
                    event_id=uuid.uuid4().hex,
                    station_id="st-0",
                    epoch="e1",
                    seq=seq,
                    kind=kind,
                    passage=passage,
                    rider_id="r-1",
                    occurred_at=at,
                    received_at=at,
                )
            )
        session.commit()


@pytest.mark.parametrize("station_id", [None, "st-2"])
def test_reports_in_sql_equal_the_pure_figures(engine: Engine, station_id: str | None) -> None:
    entries = _generated_entries(seed=12)
    _store(engine, entries)
    first, last = date(2026, 10, 27), date(2026, 11, 19)  # some entries fall outside
    window = report_window(first, last, station_id)
    inside = [
        e
        for e in entries
        if window.start <= e.at < window.end and station_id in (None, e.station_id)
    ]
    assert len(inside) > 300
    with Session(engine) as session:
        for period in figures.Period:
            assert aggregates.visit_rows(session, window, period) == figures.visits_by_period(
                inside, period
            )
        assert aggregates.visit_totals(session, window) == (
            len(inside),
            figures.unique_riders(inside),
        )
        assert aggregates.visits_by_hour(session, window) == figures.peak_hours(inside)


def test_local_time_follows_a_zone_that_changes_its_offset(engine: Engine) -> None:
    """SQLite has no zone data: stored UTC times are shifted piece by piece where the offset
    changes (China has had none since 1991; a zone with summer time shows the pieces work)."""
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    window = aggregates.Window(start=start, end=start + timedelta(days=300))
    assert offset_changes(window.start, window.end, berlin) == [
        (start, timedelta(hours=1)),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), timedelta(hours=2)),
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), timedelta(hours=1)),
    ]
    assert offset_changes(window.start, window.end) == [(start, timedelta(hours=8))]
    around = [
        datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),  # 01:59:59 winter time
        datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC),  # 03:00 summer time
        datetime(2026, 10, 24, 22, 30, tzinfo=UTC),  # 00:30 on the 25th, summer time
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 summer time
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 02:30 again, winter time
        datetime(2026, 11, 1, 23, 30, tzinfo=UTC),  # 00:30 Monday 2nd
    ]
    _store(engine, [figures.Entry("st-0", at, None) for at in around])
    with Session(engine) as session:
        local = aggregates.LocalTime(session.get_bind().dialect.name, window, berlin)
        statement = (
            sql_select(local.day(), local.week(), local.hour())
            .where(col(EventRecord.passage) == "entry")
            .order_by(col(EventRecord.occurred_at))
        )
        found = [
            (str(day), str(week), int(hour))
            for day, week, hour in session.connection().execute(statement)
        ]
    expected = []
    for at in around:
        wall = at.astimezone(berlin)
        monday = wall.date() - timedelta(days=wall.weekday())
        expected.append((wall.date().isoformat(), monday.isoformat(), wall.hour))
    assert found == expected


def _stations(engine: Engine) -> list[Station]:
    rng = random.Random(5)
    stations = []
    with Session(engine) as session:
        for i in range(60):
            capacity = 4 + rng.randrange(8)
            station = Station(
                id=f"st-{i:03d}",
                name=f"Station {'_%'[i % 2]}{59 - i:03d}",
                capacity=capacity,
                occupancy=rng.randrange(capacity + 1),
                online=rng.random() < 0.7,
                lockdown=rng.random() < 0.1,
                maintenance=rng.random() < 0.1,
            )
            stations.append(station)
            session.add(station)
            for acknowledged in range(rng.randrange(3)):
                session.add(
                    Alarm(
                        station_id=station.id,
                        kind="held_open",
                        raised_at=datetime(2026, 11, 1, tzinfo=UTC),
                        acknowledged_at=datetime(2026, 11, 2, tzinfo=UTC) if acknowledged else None,
                    )
                )
        session.commit()
        return [session.get_one(Station, s.id) for s in stations]


def test_counts_and_pages_in_sql_match_the_rows(engine: Engine) -> None:
    stations = _stations(engine)
    with Session(engine) as session:
        alarms = {
            s.id: n
            for (s, n) in station_page(session, query=StationQuery(), limit=200, offset=0)[0]
        }
        counts = station_counts(session)
    assert sum(alarms.values()) == counts.alarms_open > 0
    full = [s for s in stations if s.occupancy >= s.capacity]
    nearly = [s for s in stations if s.soft_limit * s.capacity <= s.occupancy < s.capacity]
    assert counts.model_dump() == {
        "stations": 60,
        "stations_online": sum(s.online for s in stations),
        "stations_offline": sum(not s.online for s in stations),
        "stations_with_alarms": sum(1 for n in alarms.values() if n),
        "alarms_open": sum(alarms.values()),
        "stations_full": len(full),
        "stations_nearly_full": len(nearly),
        "stations_lockdown": sum(s.lockdown for s in stations),
        "stations_maintenance": sum(s.maintenance for s in stations),
        "occupancy": sum(s.occupancy for s in stations),
        "stations_closed_by_hours": sum(s.closed_by_hours for s in stations),
    }
    expected = {
        StationState.ONLINE: [s.id for s in stations if s.online],
        StationState.OFFLINE: [s.id for s in stations if not s.online],
        StationState.ALARMS: [s.id for s in stations if alarms[s.id]],
        StationState.FULL: [s.id for s in full],
        StationState.NEARLY_FULL: [s.id for s in nearly],
        StationState.LOCKDOWN: [s.id for s in stations if s.lockdown],
        StationState.MAINTENANCE: [s.id for s in stations if s.maintenance],
    }
    with Session(engine) as session:
        for state, ids in expected.items():
            query = StationQuery(state=state)
            page, total = station_page(session, query=query, limit=5, offset=0)
            assert ([s.id for s, _ in page], total) == (ids[:5], len(ids)), state
            rest, _ = station_page(session, query=query, limit=200, offset=5)
            assert [s.id for s, _ in rest] == ids[5:], state
        # A % or _ typed is a letter, not a wildcard; the id matches as well as the name.
        found, total = station_page(session, query=StationQuery(text="N _0"), limit=200, offset=0)
        assert total == 30
        assert all(s.name.startswith("Station _") for s, _ in found)
        [(only, _)], _ = station_page(session, query=StationQuery(text="ST-007"), limit=9, offset=0)
        assert only.id == "st-007"
        by_name, _ = station_page(
            session, query=StationQuery(order=StationOrder.NAME), limit=3, offset=0
        )
        assert [s.name for s, _ in by_name] == sorted(s.name for s in stations)[:3]
        problems, _ = station_page(
            session, query=StationQuery(order=StationOrder.PROBLEMS), limit=200, offset=0
        )
    # Alarms first, then offline, full, ... (server.reports.station_state, the pure rule).
    ranked = sorted(stations, key=lambda s: problem_key(station_facts(s, alarms[s.id]), s.id))
    assert [s.id for s, _ in problems] == [s.id for s in ranked]
