"""Duplicate and reordered deliveries, on a real SQLite database: the stored rows are exactly
the unique events, whatever order and however often they arrive (hypothesis state machine)."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlmodel import Session, func, select

from protocol.payloads import EventKind, Passage, StationEvent
from server.core.db import init_db, make_engine
from server.events.models import EventRecord
from server.events.store import get_stream, store_events
from server.reports.repo import summary
from server.stations.liveness import record_heartbeats
from server.stations.models import Station, StationCreate


def _add_station(session: Session, station_in: StationCreate) -> None:
    session.add(Station.model_validate(station_in))
    session.commit()


T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
STATIONS = ("station-a", "station-b")
EPOCH = "00000000000000aa"


def _stream(station_id: str, visits: int) -> list[StationEvent]:
    """Entries and exits of one station, numbered as its outbox would."""
    kinds = []
    for _ in range(visits):
        kinds += [(EventKind.DOOR_OPENED, Passage.ENTRY), (EventKind.DOOR_CLOSED, None)]
    for _ in range(visits):
        kinds += [(EventKind.DOOR_OPENED, Passage.EXIT), (EventKind.DOOR_CLOSED, None)]
    return [
        StationEvent(
            event_id=uuid.uuid5(uuid.NAMESPACE_OID, f"{station_id}/{seq}").hex,
            station_id=station_id,
            epoch=EPOCH,
            seq=seq,
            kind=kind,
            passage=passage,
            occurred_at=T0 + timedelta(seconds=seq),
        )
        for seq, (kind, passage) in enumerate(kinds, start=1)
    ]


class DeliveryMachine(RuleBasedStateMachine):
    @initialize(visits=st.integers(1, 4))
    def setup(self, visits: int) -> None:
        self._dir = tempfile.TemporaryDirectory()
        self.engine = make_engine(f"sqlite:///{Path(self._dir.name) / 'db.sqlite'}")
        init_db(self.engine)
        with Session(self.engine) as session:
            for station_id in STATIONS:
                _add_station(session, StationCreate(id=station_id, name=station_id, capacity=9))
        self.events = [e for s in STATIONS for e in _stream(s, visits)]
        self.delivered: set[str] = set()

    @rule(data=st.data())
    def deliver_a_batch(self, data: st.DataObject) -> None:
        """Any events, in any order, some of them several times, as one consumer batch."""
        picks = st.integers(0, len(self.events) - 1)
        batch = [self.events[i] for i in data.draw(st.lists(picks, min_size=1, max_size=12))]
        with Session(self.engine) as session:
            acks = store_events(session, events=batch, received_at=T0)
        acked = {(a.station_id, seq) for a in acks for seq in a.acked}
        assert acked == {(e.station_id, e.seq) for e in batch}  # every copy acknowledged
        self.delivered |= {e.event_id for e in batch}

    @rule()
    def deliver_everything_in_order(self) -> None:
        with Session(self.engine) as session:
            acks = store_events(session, events=self.events, received_at=T0)
        assert all(ack.missing == [] for ack in acks)
        self.delivered |= {e.event_id for e in self.events}
        with Session(self.engine) as session:
            for station_id in STATIONS:
                stream = get_stream(session, station_id=station_id, epoch=EPOCH)
                assert stream is not None
                assert stream.contiguous_through == stream.highest_seen
                # Every visit ended with an exit: everyone has left.
                station = session.get(Station, station_id)
                assert station is not None
                assert station.occupancy == 0

    @invariant()
    def stored_rows_are_the_unique_delivered_events(self) -> None:
        if not hasattr(self, "engine"):
            return
        with Session(self.engine) as session:
            stored = set(session.exec(select(EventRecord.event_id)).all())
            rows = session.exec(select(func.count()).select_from(EventRecord)).one()
            occupancy = [session.get(Station, s).occupancy for s in STATIONS]  # type: ignore[union-attr]
            totals = summary(session)
        assert stored == self.delivered
        assert rows == len(self.delivered)
        # The stored totals count each delivered event once, however often it came.
        passages = [e.passage for e in self.events if e.event_id in self.delivered]
        assert (totals.events_stored, totals.entries, totals.exits) == (
            rows,
            passages.count(Passage.ENTRY),
            passages.count(Passage.EXIT),
        )
        assert min(occupancy) >= 0

    def teardown(self) -> None:
        if hasattr(self, "engine"):
            self.engine.dispose()
            self._dir.cleanup()


DeliveryMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=12, deadline=None)
test_duplicate_and_reordered_deliveries = DeliveryMachine.TestCase


def test_gaps_are_reported_until_filled(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_db(engine)
    events = _stream("station-a", 3)  # 12 events
    with Session(engine) as session:
        _add_station(session, StationCreate(id="station-a", name="a", capacity=9))
        [ack] = store_events(session, events=[events[0], events[3], events[6]], received_at=T0)
        assert ack.missing == [(2, 3), (5, 6)]
        [ack] = store_events(session, events=events[1:3] + events[4:6], received_at=T0)
        assert ack.missing == []
        stream = get_stream(session, station_id="station-a", epoch=EPOCH)
        assert stream is not None
        assert stream.contiguous_through == 7
    engine.dispose()


def test_events_of_unknown_stations_are_neither_stored_nor_acknowledged(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_db(engine)
    with Session(engine) as session:
        assert store_events(session, events=_stream("nobody", 1), received_at=T0) == []
        assert session.exec(select(func.count()).select_from(EventRecord)).one() == 0
    engine.dispose()


def test_effects_wait_for_the_gap_or_for_the_stations_floor(tmp_path: Path) -> None:
    """Events past a gap are stored at once but counted only in order; if the station says the
    missing ones were acknowledged long ago (a restored server database), they are skipped."""
    from protocol.payloads import Heartbeat

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_db(engine)
    entry_1, _close_1, entry_2, _close_2 = _stream("station-a", 2)[:4]
    with Session(engine) as session:
        _add_station(session, StationCreate(id="station-a", name="a", capacity=9))
        store_events(session, events=[entry_2], received_at=T0)
        station = session.get(Station, "station-a")
        assert station is not None
        assert station.occupancy == 0  # seq 3 waits for seqs 1 and 2

        beat = Heartbeat(
            station_id="station-a",
            session_id="s",
            sent_at=T0,
            interval_s=30,
            camera_ok=True,
            outbox_depth=0,
            epoch=EPOCH,
            outbox_floor=4,
            config_version=1,
        )
        assert record_heartbeats(session, heartbeats=[beat], now=T0) == 0
        session.commit()
        session.refresh(station)
        assert station.occupancy == 1
        stream = get_stream(session, station_id="station-a", epoch=EPOCH)
        assert stream is not None
        assert stream.contiguous_through == 3
        # A late copy of seq 1 is stored, and changes nothing already counted.
        store_events(session, events=[entry_1], received_at=T0)
        session.refresh(station)
        assert station.occupancy == 1
    engine.dispose()
