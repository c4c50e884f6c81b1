"""Two server workers on one PostgreSQL database and one broker (MQTT 5 shared subscriptions
split the stations' messages between them): every copy of an event may reach either worker,
at the same moment, yet each event is applied once (one alarm for one ``alarm_raised``, the
count exact), and a request sent several times is answered the same way every time, with one
decision stored and one entry granted per code."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, func, select

from demo.broker import PrivateBroker
from protocol import topics
from protocol.payloads import AccessDecision, EventKind, Passage, StationEvent, parse
from protocol.reasons import Reason
from protocol.signing import SigningKey
from protocol.topics import Family
from server.access.models import DecisionRecord
from server.alarms.models import Alarm
from server.core.db import init_db, make_engine
from server.core.settings import ServerSettings
from server.events.models import EventRecord
from server.events.store import StreamAck, advance_stream, get_stream, store_events
from server.keys.ring import KeyHolder
from server.mqtt.consumer import MqttConsumer
from server.stations.models import Station
from tests.support.fleet import (
    Outgoing,
    access_request,
    enrol_riders,
    event,
    provision_fleet,
    tokens_for,
)
from tests.support.mqtt_peer import Peer, mqtt_peer
from tests.support.waiting import wait_for

EPOCH = "00000000000000bb"
COPIES = 4


def _visits(key: SigningKey, station_id: str, visits: int) -> list[Outgoing]:
    """Entries and exits with an alarm raised in the middle: seq 1..4*visits+1."""
    kinds: list[tuple[EventKind, dict[str, object]]] = []
    for _ in range(visits):
        kinds += [
            (EventKind.DOOR_OPENED, {"passage": Passage.ENTRY}),
            (EventKind.DOOR_CLOSED, {}),
        ]
    kinds.append((EventKind.ALARM_RAISED, {"alarm": "held_open", "detail": "propped"}))
    for _ in range(visits):
        kinds += [(EventKind.DOOR_OPENED, {"passage": Passage.EXIT}), (EventKind.DOOR_CLOSED, {})]
    return [
        event(key, station_id, epoch=EPOCH, seq=seq, kind=kind, **fields)
        for seq, (kind, fields) in enumerate(kinds, start=1)
    ]


@pytest.fixture
def workers(
    broker: PrivateBroker, postgres_url: str, tmp_path: Path
) -> Iterator[tuple[list[MqttConsumer], Engine, dict[str, SigningKey], ServerSettings]]:
    settings = ServerSettings(
        data_dir=tmp_path,
        database_url=postgres_url,
        audience="ws-test",
        demo_mode=True,
        **broker.server_settings(""),  # type: ignore[arg-type]
    )
    engine = make_engine(postgres_url)
    init_db(engine)
    keys = provision_fleet(engine, 3, prefix=f"tw{uuid.uuid4().hex[:6]}")
    consumers = []
    engines = [make_engine(postgres_url) for _ in range(2)]  # as two processes would have
    for own in engines:
        holder = KeyHolder(own)
        holder.reload()
        consumers.append(MqttConsumer(settings, own, holder))
    for consumer in consumers:
        consumer.start()
        assert consumer.wait_connected(5)
    try:
        yield consumers, engine, keys, settings
    finally:
        for consumer in consumers:
            consumer.stop()
        for own in [*engines, engine]:
            own.dispose()


def _publish_all(peer: Peer, messages: list[Outgoing]) -> None:
    for message in messages:
        peer.link.publish(message.topic, message.payload, user_properties=message.user_properties)


@pytest.mark.parametrize("broker", ["open"], indirect=True)
def test_events_sent_many_times_to_two_workers_apply_once(
    broker: PrivateBroker,
    workers: tuple[list[MqttConsumer], Engine, dict[str, SigningKey], ServerSettings],
) -> None:
    consumers, engine, keys, _ = workers
    visits = 5
    streams = {station_id: _visits(key, station_id, visits) for station_id, key in keys.items()}
    copies = [m for messages in streams.values() for m in messages for _ in range(COPIES)]
    random.Random(7).shuffle(copies)
    with mqtt_peer(broker.port) as peer:
        _publish_all(peer, copies)

        def all_applied() -> bool:
            with Session(engine) as session:
                return all(
                    (stream := get_stream(session, station_id=s, epoch=EPOCH)) is not None
                    and stream.contiguous_through == len(streams[s])
                    for s in streams
                )

        wait_for(all_applied, timeout_s=30, what="every stream applied")
    assert all(c.totals["events_stored"] > 0 for c in consumers), "both workers stored events"
    with Session(engine) as session:
        for station_id, messages in streams.items():
            rows = session.exec(
                select(func.count())
                .select_from(EventRecord)
                .where(EventRecord.station_id == station_id)
            ).one()
            alarms = session.exec(
                select(func.count()).select_from(Alarm).where(Alarm.station_id == station_id)
            ).one()
            station = session.get(Station, station_id)
            assert station is not None
            assert rows == len(messages)
            assert alarms == 1
            assert station.occupancy == 0  # everyone who came in went out, each counted once


@pytest.mark.parametrize("broker", ["open"], indirect=True)
def test_a_request_sent_many_times_to_two_workers_gets_one_answer(
    broker: PrivateBroker,
    workers: tuple[list[MqttConsumer], Engine, dict[str, SigningKey], ServerSettings],
) -> None:
    consumers, engine, keys, settings = workers
    [rider] = enrol_riders(engine, 1)
    holder = KeyHolder(engine)
    holder.reload()
    [token] = tokens_for(
        [rider], holder, audience=settings.audience, now=datetime.now(UTC).timestamp()
    )
    (first_id, first_key), (second_id, second_key) = list(keys.items())[:2]
    same_id, same = access_request(first_key, first_id, token)
    other_id, other = access_request(second_key, second_id, token)  # the same code, elsewhere
    wanted = {same_id, other_id}
    with mqtt_peer(broker.port, [topics.all_stations(Family.ACCESS_DECISION)]) as peer:
        _publish_all(peer, [same] * 6 + [other] * 6)
        answers: list[AccessDecision] = []
        wait_for(
            lambda: (
                answers.extend(
                    d
                    for d in (parse(AccessDecision, m.payload) for m in peer.drain(0.3))
                    if d.request_id in wanted
                )
                or len(answers) >= 12
            ),
            timeout_s=30,
            what="twelve answers",
        )
    assert all(c.totals["decisions_sent"] > 0 for c in consumers), "both workers answered"
    by_request = {
        request_id: {(a.allowed, a.reason) for a in answers if a.request_id == request_id}
        for request_id in wanted
    }
    assert all(len(kinds) == 1 for kinds in by_request.values()), by_request
    granted = [rid for rid, kinds in by_request.items() if (True, Reason.GRANTED) in kinds]
    assert len(granted) == 1  # one code admits once, anywhere
    with Session(engine) as session:
        stored = session.exec(
            select(DecisionRecord).where(col(DecisionRecord.request_id).in_(wanted))
        ).all()
    assert len(stored) == 2
    assert {r.request_id for r in stored if r.allowed} == set(granted)


def test_a_stream_is_advanced_by_one_worker_at_a_time(postgres_url: str) -> None:
    """The stream's row lock itself: while one worker applies a stream's events (transaction
    open), another that wants to apply the same events waits for it, then finds them applied."""
    engine = make_engine(postgres_url)
    init_db(engine)
    [(station_id, key)] = provision_fleet(engine, 1, prefix=f"tw{uuid.uuid4().hex[:6]}").items()
    events = [parse(StationEvent, m.payload) for m in _visits(key, station_id, 1)]
    with Session(engine) as session:  # all but the first: stored, not applied (a gap)
        store_events(session, events=events[1:], received_at=datetime.now(UTC))
    ack = StreamAck(station_id, EPOCH)
    first = Session(engine)
    advance_stream(first, ack, floor=2)  # applies 2.. in its open transaction
    second_done = threading.Event()

    def second_worker() -> None:
        with Session(engine) as session:
            advance_stream(session, ack, floor=2)
            session.commit()
        second_done.set()

    thread = threading.Thread(target=second_worker)
    thread.start()
    try:
        wait_for(lambda: _waiting_on_a_lock(engine), timeout_s=10, what="the second to wait")
        assert not second_done.is_set()
    finally:
        first.commit()
        first.close()
        thread.join(10)
    assert second_done.is_set()
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Alarm)).one() == 1
        station = session.get(Station, station_id)
        assert station is not None
        assert station.occupancy == 0
    engine.dispose()


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return bool(waiting)
