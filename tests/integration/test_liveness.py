"""Heartbeats in bulk and silence, on SQLite and PostgreSQL: one statement stores a batch
(the newest per station), a station marked offline for silence comes back with its own
session's heartbeat, and stations silent for three of their intervals are marked offline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from protocol.payloads import Heartbeat
from server.core.db import init_db, make_engine
from server.core.localtime import as_utc
from server.stations.liveness import latest_per_station, mark_silent_stations, record_heartbeats
from server.stations.models import Station
from tests.support.fleet import provision_fleet

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def _beat(station_id: str, at: datetime, *, session_id: str = "s1", depth: int = 0) -> Heartbeat:
    return Heartbeat(
        station_id=station_id,
        session_id=session_id,
        sent_at=at,
        interval_s=30,
        camera_ok=depth == 0,
        clock_offset_s=0.25 if depth else None,
        outbox_depth=depth,
        config_version=1,
    )


def test_the_newest_heartbeat_of_each_station_in_station_order() -> None:
    beats = [
        _beat("b", T0, depth=1),
        _beat("a", T0),
        _beat("b", T0 + timedelta(seconds=1), depth=2),
    ]
    assert [(h.station_id, h.outbox_depth) for h in latest_per_station(beats)] == [
        ("a", 0),
        ("b", 2),
    ]


def test_a_batch_is_stored_and_silence_marked(engine: Engine) -> None:
    a, b = provision_fleet(engine, 2, prefix="lv")
    with Session(engine) as session:
        for station_id in (a, b):  # born in session s1
            row = session.get(Station, station_id)
            assert row is not None
            row.session_id = "s1"
            session.add(row)
        session.commit()
        unknown = record_heartbeats(
            session,
            heartbeats=[_beat(a, T0), _beat(b, T0, depth=3), _beat("nobody", T0)],
            now=T0,
        )
        session.commit()
    # PostgreSQL's one statement counts the rows it matched; SQLite's executemany may not.
    assert unknown == 1 if engine.dialect.name == "postgresql" else unknown in (0, 1)
    with Session(engine) as session:
        station = session.get(Station, b)
        assert station is not None
        assert station.outbox_depth == 3
        assert station.camera_ok is False
        assert station.clock_offset_s == 0.25
        assert station.heartbeat_interval_s == 30
        assert as_utc(station.last_heartbeat_at) == T0  # type: ignore[arg-type]
        # Three intervals (90 s) not yet past: nobody is marked.
        assert mark_silent_stations(session, now=T0 + timedelta(seconds=89)) == []
        # b beats again later; a stays silent.
    with Session(engine) as session:
        record_heartbeats(
            session, heartbeats=[_beat(b, T0, depth=0)], now=T0 + timedelta(seconds=60)
        )
        session.commit()
        assert mark_silent_stations(session, now=T0 + timedelta(seconds=91)) == [a]
        station = session.get(Station, a)
        assert station is not None
        assert station.online is False
        assert station.offline_reason == "heartbeat_missed"
        assert as_utc(station.online_changed_at) == T0  # type: ignore[arg-type]
    with Session(engine) as session:  # a heartbeat of another session does not bring it back
        record_heartbeats(
            session, heartbeats=[_beat(a, T0, session_id="old")], now=T0 + timedelta(seconds=95)
        )
        session.commit()
        assert session.get(Station, a).online is False  # type: ignore[union-attr]
    with Session(engine) as session:  # its own session's does
        later = T0 + timedelta(seconds=100)
        record_heartbeats(session, heartbeats=[_beat(a, T0)], now=later)
        session.commit()
        station = session.get(Station, a)
        assert station is not None
        assert station.online is True
        assert station.offline_reason is None
        assert as_utc(station.online_changed_at) == later  # type: ignore[arg-type]


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Engine]:
    made = make_engine(postgres_url)
    init_db(made)
    yield made
    made.dispose()


def test_the_silence_sweep_skips_a_station_whose_heartbeat_is_being_stored(
    postgres: Engine,
) -> None:
    """A batch holds its stations' rows (in id order) until it commits. The sweep locks in
    the same order and passes over a row a batch holds: that station is not silent, and a
    sweep waiting on it could deadlock with the batch. (PostgreSQL's row locks: SQLite lets
    one writer in at a time.)"""
    engine = postgres
    held, free = provision_fleet(engine, 2, prefix="sw")
    with Session(engine) as session:
        record_heartbeats(session, heartbeats=[_beat(held, T0), _beat(free, T0)], now=T0)
        session.commit()
    later = T0 + timedelta(seconds=120)  # both silent for four intervals
    batch = engine.connect()
    try:
        transaction = batch.begin()
        batch.execute(text("SELECT id FROM station WHERE id = :id FOR UPDATE"), {"id": held})
        swept: list[list[str]] = []

        def sweep() -> None:
            with Session(engine) as session:
                swept.append(mark_silent_stations(session, now=later))

        sweeper = threading.Thread(target=sweep, daemon=True)
        sweeper.start()
        sweeper.join(10)
        # Before: the sweep waited for the batch's lock, however long the batch took.
        assert not sweeper.is_alive(), "the sweep waited on a row a batch holds"
        assert swept == [[free]]
        transaction.rollback()
    finally:
        batch.close()
    with Session(engine) as session:  # the batch gone, the next sweep finds it silent
        assert mark_silent_stations(session, now=later) == [held]
