"""The stored totals of ``/api/summary`` (``server.reports.tally``) on SQLite and PostgreSQL:
kept by the event store and the decision store as they write, they always equal what counting
the tables gives (the counts ``/api/summary`` used to make), whatever is delivered twice,
decided twice or stored by several threads at once; ``recount`` rebuilds them from the tables.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Engine
from sqlmodel import Session, col, func, select

from protocol.payloads import AccessDecision, EventKind, Passage, StationEvent
from protocol.reasons import Reason
from server.access.decision_store import DecisionStore
from server.access.models import DecisionRecord
from server.events.models import EventRecord
from server.events.store import store_events
from server.reports.repo import summary
from server.reports.tally import DECISION_SHARDS, EVENT_SHARDS, Tally, recount
from server.stations.models import Station

T0 = datetime(2026, 12, 9, 8, 0, tzinfo=UTC)
EPOCH = "00000000000000aa"
TOTALS = ("events_stored", "entries", "exits", "denials", "decisions")


def _reference(engine: Engine) -> dict[str, int]:
    """The totals counted from the tables, with the filters ``/api/summary`` always had."""
    with Session(engine) as session:

        def events(*where: ColumnElement[bool]) -> int:
            statement = select(func.count()).select_from(EventRecord).where(*where)
            return session.exec(statement).one()

        opened = col(EventRecord.kind) == EventKind.DOOR_OPENED.value
        return {
            "events_stored": events(),
            "entries": events(opened, col(EventRecord.passage) == Passage.ENTRY.value),
            "exits": events(opened, col(EventRecord.passage) == Passage.EXIT.value),
            "denials": events(col(EventRecord.kind) == EventKind.ACCESS_DENIED.value),
            "decisions": session.exec(select(func.count()).select_from(DecisionRecord)).one(),
        }


def _summary(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        said = summary(session).model_dump()
    return {name: said[name] for name in TOTALS}


def _shards(engine: Engine) -> list[tuple[int, int, int, int, int, int]]:
    with Session(engine) as session:
        rows = session.exec(select(Tally).order_by(col(Tally.shard))).all()
    return [(r.shard, r.events, r.entries, r.exits, r.denials, r.decisions) for r in rows]


def _add_stations(engine: Engine, *station_ids: str) -> None:
    with Session(engine) as session:
        for station_id in station_ids:
            session.add(Station(id=station_id, name=station_id, capacity=50))
        session.commit()


def _event(
    station_id: str, seq: int, kind: EventKind, passage: Passage | None = None
) -> StationEvent:
    return StationEvent(
        event_id=uuid.uuid5(uuid.NAMESPACE_OID, f"{station_id}/{seq}").hex,
        station_id=station_id,
        epoch=EPOCH,
        seq=seq,
        kind=kind,
        passage=passage,
        occurred_at=T0 + timedelta(seconds=seq),
    )


def _visits(station_id: str) -> list[StationEvent]:
    """Every kind the totals tell apart: entries, exits, a door opening of unknown passage,
    denials, and kinds counted only as events."""
    shapes = [
        (EventKind.ACCESS_GRANTED, None),
        (EventKind.DOOR_OPENED, Passage.ENTRY),
        (EventKind.DOOR_CLOSED, None),
        (EventKind.ACCESS_DENIED, None),
        (EventKind.DOOR_OPENED, Passage.ENTRY),
        (EventKind.DOOR_CLOSED, None),
        (EventKind.DOOR_OPENED, Passage.UNKNOWN),
        (EventKind.DOOR_CLOSED, None),
        (EventKind.ACCESS_DENIED, None),
        (EventKind.DOOR_OPENED, Passage.EXIT),
        (EventKind.DOOR_CLOSED, None),
    ]
    return [_event(station_id, seq, *shape) for seq, shape in enumerate(shapes, start=1)]


def _store(engine: Engine, events: list[StationEvent]) -> None:
    with Session(engine) as session:
        store_events(session, events=events, received_at=T0)


def _decision(request_id: str, *, allowed: bool = True) -> AccessDecision:
    return AccessDecision(
        request_id=request_id,
        station_id="st-a",
        allowed=allowed,
        reason=Reason.GRANTED if allowed else Reason.STATION_FULL,
        rider_id="r-1",
        decided_at=T0,
        expires_at=T0 + timedelta(seconds=5),
    )


def _record(
    store: DecisionStore, request_id: str, *, nonce: str | None, allowed: bool = True
) -> None:
    store.record(
        _decision(request_id, allowed=allowed),
        nonce=nonce,
        nonce_expires_at=T0 + timedelta(minutes=2),
        flags="",
        nearby_station=None,
    )


def test_the_totals_count_each_event_and_decision_once(engine: Engine) -> None:
    _add_stations(engine, "st-a", "st-b")
    a, b = _visits("st-a"), _visits("st-b")
    _store(engine, [*a[:6], a[2], a[2], *b[:4]])  # an event twice in one batch
    _store(engine, a[4:] + b[2:7])  # overlapping the first batch
    clash = _event("st-b", 7, EventKind.DOOR_OPENED, Passage.ENTRY)  # seq 7 stored: not stored
    _store(engine, [clash.model_copy(update={"event_id": uuid.uuid4().hex}), *b[7:]])
    _store(engine, _visits("nowhere"))  # an unknown station: nothing stored
    expected_events = {
        "events_stored": 22,
        "entries": 4,
        "exits": 2,
        "denials": 4,
        "decisions": 0,
    }
    assert _reference(engine) == expected_events
    assert _summary(engine) == expected_events
    assert all(shard in EVENT_SHARDS for shard, *_ in _shards(engine))

    shards = _shards(engine)
    _store(engine, a + b)  # a redelivered batch: nothing new, no tally row written
    assert _shards(engine) == shards

    store = DecisionStore(engine)
    try:
        first, second = uuid.uuid4().hex, uuid.uuid4().hex
        _record(store, first, nonce="1" * 32)
        _record(store, first, nonce="1" * 32)  # the same request again: the stored one
        _record(store, second, nonce="1" * 32)  # the nonce used: stored as a replay denial
        _record(store, uuid.uuid4().hex, nonce=None, allowed=False)
    finally:
        store.close()
    expected = expected_events | {"decisions": 3}
    assert _reference(engine) == expected
    assert _summary(engine) == expected
    assert {shard for shard, *_ in _shards(engine)} - set(EVENT_SHARDS) <= set(DECISION_SHARDS)

    with engine.begin() as connection:
        recount(connection)
    assert _summary(engine) == expected
    assert _shards(engine) == [(0, 22, 4, 2, 4, 3)]


def test_recount_takes_in_rows_planted_behind_the_writers(engine: Engine) -> None:
    _add_stations(engine, "st-a")
    _store(engine, _visits("st-a")[:5])
    with Session(engine) as session:
        session.add(
            EventRecord(
                event_id=uuid.uuid4().hex,
                station_id="st-a",
                epoch="planted",
                seq=1,
                kind=EventKind.DOOR_OPENED.value,
                passage=Passage.EXIT.value,
                occurred_at=T0,
                received_at=T0,
            )
        )
        session.commit()
    assert _summary(engine)["events_stored"] == 5  # not seen by the totals yet
    with engine.begin() as connection:
        recount(connection)
    assert _summary(engine) == _reference(engine)
    assert _summary(engine) == {
        "events_stored": 6,
        "entries": 2,
        "exits": 1,
        "denials": 1,
        "decisions": 0,
    }


def test_writers_at_once_keep_the_totals_exact(engine: Engine) -> None:
    """Threads deciding (each its own connection) and storing overlapping batches together:
    shards made by the first of two writers at once, and rows another writer stored first."""
    station_ids = [f"st-{i}" for i in range(3)]
    _add_stations(engine, *station_ids)
    store = DecisionStore(engine)
    start = threading.Barrier(5)
    failures: list[BaseException] = []

    def decide(worker: int) -> None:
        start.wait()
        for i in range(20):
            request_id = uuid.uuid5(uuid.NAMESPACE_OID, f"{worker % 2}/{i}").hex  # pairs repeat
            _record(store, request_id, nonce=f"{worker % 2:016x}{i:016x}")

    def deliver(worker: int) -> None:
        start.wait()
        events = [event for s in station_ids for event in _visits(s)]
        for i in range(0, len(events), 5):
            _store(engine, events[i + worker : i + 8])

    def run(work: Callable[[int], None], worker: int) -> None:
        try:
            work(worker)
        except BaseException as failed:  # reported below, in the test's thread
            failures.append(failed)

    threads = [threading.Thread(target=run, args=(decide, w)) for w in range(3)]
    threads += [threading.Thread(target=run, args=(deliver, w)) for w in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        store.close()
    assert failures == []
    assert _reference(engine)["decisions"] == 40
    assert _reference(engine)["events_stored"] == 33
    assert _summary(engine) == _reference(engine)
