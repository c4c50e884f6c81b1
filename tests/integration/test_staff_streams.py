"""Staff reads that stream: the events CSV past the old 100,000-row cap, and the live feed
shared by every open stream of a server process."""

from __future__ import annotations

import json
import queue
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event, insert
from sqlmodel import Session

from server.alarms.models import Alarm
from server.events.models import EventRecord
from server.reports.live import LiveFeed
from tests.support.stack import ServerHarness, unique_station_id
from tests.support.waiting import wait_for


def _store(server: ServerHarness, *rows: object) -> None:
    with Session(server.services.engine) as session:
        for row in rows:
            session.add(row)
        session.commit()


def test_events_csv_streams_every_row(server: ServerHarness) -> None:
    """Past the 100,000 rows the export used to stop at, read a batch at a time and sent as it
    is read (chunked, no length known up front)."""
    station_id = unique_station_id()
    server.add_station(station_id)
    base = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    rows = [
        {
            "event_id": f"{i:032x}",
            "station_id": station_id,
            "epoch": "e1",
            "seq": i + 1,
            "kind": "door_opened",
            "passage": "entry",
            "occurred_at": base + timedelta(seconds=i),
            "received_at": base + timedelta(seconds=i),
            "applied": True,
        }
        for i in range(100_001)
    ]
    with Session(server.services.engine) as session:
        session.connection().execute(insert(EventRecord), rows)
        session.commit()
    with server.client.stream("GET", "/api/events.csv", params={"station_id": station_id}) as reply:
        assert reply.status_code == 200
        assert "content-length" not in reply.headers
        assert reply.headers["transfer-encoding"] == "chunked"
        chunks = list(reply.iter_text())
    lines = "".join(chunks).lstrip("\ufeff").splitlines()
    assert len(chunks) > 100  # a chunk per batch of rows, not one body
    assert len(lines) == 1 + 100_001
    assert lines[1].startswith(f"2026-11-20T10:00:00+08:00,{station_id},door_opened,entry")
    assert lines[-1].split(",")[-2:] == ["100001", f"{100_000:032x}"]


def test_open_streams_share_one_poll(server: ServerHarness) -> None:
    """Five open tabs: the database is read once a poll for all of them, not once per tab, and
    every tab sees the change."""
    assert server.app is not None
    feed: LiveFeed = server.app.state.live_feed
    watched = [unique_station_id() for _ in range(3)]
    for station_id in watched:
        server.add_station(station_id)
    other = unique_station_id()
    server.add_station(other)  # not on the page: never sent
    reads: list[str] = []

    def count_reads(*args: Any) -> None:
        statement: str = args[2]
        if "open_alarms" in statement and "FROM station" in statement:
            reads.append(statement)

    first_rows: queue.Queue[list[str]] = queue.Queue()
    alarmed: queue.Queue[str] = queue.Queue()

    def tab() -> None:
        try:
            with (
                httpx.Client(base_url=server.client.base_url, timeout=30) as client,
                client.stream(
                    "GET",
                    "/api/stream",
                    params={"ids": ",".join(watched)},
                    headers={"Authorization": server.client.headers["Authorization"]},
                ) as reply,
            ):
                first = True
                for line in reply.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    rows = json.loads(line[6:])
                    if first:
                        first_rows.put(sorted(row["id"] for row in rows))
                        first = False
                    if any(row["active_alarms"] for row in rows):
                        alarmed.put(rows[0]["id"])  # and stays open, as a tab does
        except httpx.RemoteProtocolError:
            pass  # the stream ends with the server (its grace: tests/support/stack.py)

    event.listen(server.services.engine, "before_cursor_execute", count_reads)
    tabs = [threading.Thread(target=tab, daemon=True) for _ in range(5)]
    try:
        for thread in tabs:
            thread.start()
        assert [first_rows.get(timeout=15) for _ in tabs] == [sorted(watched)] * 5
        polls_before, reads_before = feed.state.polls, len(reads)
        _store(
            server, Alarm(station_id=watched[1], kind="forced_open", raised_at=datetime.now(UTC))
        )
        assert [alarmed.get(timeout=15) for _ in tabs] == [watched[1]] * 5
        wait_for(lambda: feed.state.polls - polls_before >= 3, what="three more polls")
        polls, database_reads = feed.state.polls - polls_before, len(reads) - reads_before
    finally:
        event.remove(server.services.engine, "before_cursor_execute", count_reads)
    # The tabs' streams end with the server.
    # One read a poll (one more may be under way as the polls are counted), not five.
    assert polls <= database_reads + 1
    assert database_reads <= polls + 1
