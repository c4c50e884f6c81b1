"""Fault tests with real processes: kill -9 the agent, hang it, stop the broker, kill -9 the
server. Every committed event reaches the server exactly once; no code opens the door twice."""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from demo.broker import PrivateBroker
from demo.processes import free_port
from demo.server_process import ServerProcess
from protocol.payloads import ProvisioningBundle
from server.core.db import make_engine
from server.events.models import EventRecord
from server.stations.models import Station
from tests.conftest import SERVER_BROKER_PASSWORD
from tests.support.stack import ServerHarness, unique_station_id
from tests.support.station_process import StationProcess
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


def _assert_exactly_once(events: list[EventRecord], last_seq: int) -> None:
    """Every event the station committed is stored once, in one unbroken sequence."""
    assert last_seq > 0
    assert sorted(e.seq for e in events) == list(range(1, last_seq + 1))
    assert len({e.event_id for e in events}) == len(events)
    grants = [e for e in events if e.kind == "access_granted"]
    assert grants, "some riders got in"
    # No code and no request opened the door twice, across all the restarts.
    assert max(Counter(e.nonce for e in grants).values()) == 1
    assert max(Counter(e.request_id for e in grants).values()) == 1


def _wait_streaming(agent: StationProcess, events: int = 1) -> int:
    """Until the started agent has committed ``events`` more events (riders are coming in);
    its last sequence number then."""
    agent.wait_ready()
    before = agent.last_seq()
    return wait_for(
        lambda: agent.last_seq() if agent.last_seq() >= before + events else 0,
        timeout_s=30,
        what=f"{events} new event(s) at {agent.station_id}",
    )


def _stored(server_dir: Path, station_id: str) -> set[int]:
    """The sequence numbers of the station's events in the server's database (read as a
    technician would, whether the server runs or not)."""
    with sqlite3.connect(server_dir / "warm_station.db", timeout=10) as db:
        rows = db.execute("SELECT seq FROM event WHERE station_id = ?", (station_id,)).fetchall()
    return {seq for (seq,) in rows}


def _drain(bundle: ProvisioningBundle, data_dir: Path) -> int:
    """Start the station once more with no riders, until its outbox is empty."""
    drainer = StationProcess(bundle, data_dir=data_dir)
    wait_for(lambda: drainer.outbox_depth() == 0, timeout_s=60, what="the outbox to drain")
    drainer.stop()
    return drainer.last_seq()


def test_kill_9_the_agent_at_random_moments(
    server: ServerHarness, broker: PrivateBroker, tmp_path: Path
) -> None:
    station_id = unique_station_id()
    bundle = server.add_station(station_id)
    links = [server.enrol()[1] for _ in range(3)]
    data_dir = tmp_path / station_id
    base_url = str(server.client.base_url)
    rng = random.Random(11)

    for _ in range(3):  # riders streaming in; killed mid-stream, restarted with the same store
        agent = StationProcess(bundle, data_dir=data_dir, server_url=base_url, rider_links=links)
        _wait_streaming(agent)
        time.sleep(rng.uniform(0.0, 1.5))  # a random moment of the stream
        agent.kill()

    # Killed with events committed but certainly not acknowledged: the broker is down.
    agent = StationProcess(bundle, data_dir=data_dir, server_url=base_url, rider_links=links)
    _wait_streaming(agent)
    broker.stop()
    wait_for(lambda: agent.outbox_depth() > 0, timeout_s=20, what="entries decided offline")
    agent.kill()
    unacknowledged = agent.outbox_depth()
    broker.start()

    last_seq = _drain(bundle, data_dir)

    assert unacknowledged > 0
    wait_for(lambda: len(server.events(station_id)) == last_seq, what="all events stored")
    _assert_exactly_once(server.events(station_id), last_seq)


def test_hung_agent_is_marked_offline_and_comes_back(
    server: ServerHarness, broker: PrivateBroker, tmp_path: Path
) -> None:
    station_id = unique_station_id()
    bundle = server.add_station(station_id)
    agent = StationProcess(bundle, data_dir=tmp_path / station_id, heartbeat_s=0.3)
    try:
        wait_for(
            lambda: server.station(station_id).last_heartbeat_at is not None,
            timeout_s=20,
            what="the first heartbeat",
        )
        assert server.station(station_id).online

        agent.signal(signal.SIGSTOP)  # alive to the kernel and the broker, silent to us
        wait_for(lambda: not server.station(station_id).online, timeout_s=10, what="marked offline")
        station = server.station(station_id)
        assert station.offline_reason == "heartbeat_missed"
        assert station.online_changed_at is not None  # offline since its last heartbeat

        agent.signal(signal.SIGCONT)
        wait_for(lambda: server.station(station_id).online, timeout_s=10, what="back online")
        assert server.station(station_id).offline_reason is None
    finally:
        agent.stop()
    # A clean stop says goodbye: offline at once, not after missed heartbeats.
    wait_for(lambda: not server.station(station_id).online, what="offline after the goodbye")
    assert server.station(station_id).offline_reason == "disconnected"


def test_kill_9_the_server_mid_stream(broker: PrivateBroker, tmp_path: Path) -> None:
    server_dir, station_id = tmp_path / "server", unique_station_id()
    port = free_port()
    server = ServerProcess(
        data_dir=server_dir,
        http_port=port,
        broker_port=broker.port,
        extra_env=broker.server_env(SERVER_BROKER_PASSWORD),
    ).start()
    try:
        with closing(server.client()) as http:
            reply = http.post(
                "/api/stations", json={"id": station_id, "name": "s", "capacity": 20}
            ).raise_for_status()
            bundle = ProvisioningBundle.model_validate(reply.json()["bundle"])
            links = [http.post("/api/riders", json={}).json()["link"] for _ in range(3)]
        agent = StationProcess(
            bundle, data_dir=tmp_path / station_id, server_url=server.base_url, rider_links=links
        )
        # Riders come in and their events are stored before the kill.
        wait_for(lambda: len(_stored(server_dir, station_id)) >= 3, timeout_s=30, what="events")
        server.kill()  # mid-stream: requests and events in flight
        at_kill = agent.last_seq()
        # The station goes on while the server is down (decided by itself, not acknowledged).
        _wait_streaming(agent, events=2)
        server.start()
        # Back: what the station committed during the outage reaches the new server.
        wait_for(
            lambda: max(_stored(server_dir, station_id), default=0) > at_kill,
            timeout_s=30,
            what="events of the outage stored after the restart",
        )
        agent.stop()
        last_seq = _drain(bundle, tmp_path / station_id)
    finally:
        server.stop()

    engine = make_engine(f"sqlite:///{server_dir / 'warm_station.db'}")
    with Session(engine) as session:
        events = list(session.exec(select(EventRecord).where(EventRecord.station_id == station_id)))
        station = session.get(Station, station_id)
        entries = session.exec(
            select(EventRecord).where(
                EventRecord.station_id == station_id, col(EventRecord.passage) == "entry"
            )
        ).all()
    engine.dispose()
    _assert_exactly_once(events, last_seq)
    assert station is not None
    assert len(entries) > 0
    assert station.occupancy == 0  # the riders all left when the station stopped
