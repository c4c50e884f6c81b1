"""The live feed: its bookkeeping (which rows a stream has not seen yet), and streams fed by
a fake read (no database)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from server.reports.live import FeedState, LiveFeed
from server.reports.models import StationCounts, StationRow


def _row(station_id: str, occupancy: int = 0) -> StationRow:
    return StationRow(
        id=station_id,
        name=station_id,
        capacity=10,
        soft_limit=0.8,
        occupancy=occupancy,
        online=True,
        online_changed_at=None,
        door_phase="locked",
        lockdown=False,
        maintenance=False,
        active_alarms=0,
        last_entry_at=None,
    )


def test_a_stream_gets_its_rows_then_only_what_changed() -> None:
    state = FeedState()
    state.watch(["a", "b"])
    assert state.unread(["a"])
    state.apply([_row("a"), _row("b")])
    assert not state.unread(["a", "b"])
    assert state.changed_since(["a", "b"], 0) == [_row("a"), _row("b")]
    seen = state.polls
    state.apply([_row("a"), _row("b", occupancy=3)])
    assert state.changed_since(["a", "b"], seen) == [_row("b", occupancy=3)]
    assert state.changed_since(["a"], seen) == []  # another page's change is not sent
    seen = state.polls
    state.apply([_row("a")])  # b is gone (deleted): nothing to send, nothing unread
    assert state.changed_since(["a", "b"], seen) == []
    assert not state.unread(["b"])


def test_rows_are_kept_while_some_stream_watches_them() -> None:
    state = FeedState()
    state.watch(["a", "b"])
    state.watch(["b"])
    state.apply([_row("a"), _row("b")])
    state.unwatch(["a", "b"])
    assert (dict(state.watched), list(state.rows)) == ({"b": 1}, ["b"])
    state.unwatch(["b"])
    assert (dict(state.watched), state.rows) == ({}, {})


def test_counts_are_sent_when_they_change() -> None:
    counts = StationCounts(
        stations=2,
        stations_online=2,
        stations_offline=0,
        stations_with_alarms=0,
        alarms_open=0,
        stations_full=0,
        stations_nearly_full=0,
        stations_lockdown=0,
        stations_maintenance=0,
        occupancy=0,
    )
    state = FeedState()
    state.apply([], counts)
    assert (state.counts, state.counts_changed_in) == (counts, 1)
    state.apply([], counts.model_copy())
    assert state.counts_changed_in == 1  # the same counts: not sent again
    state.apply([], None)  # a poll without a recount keeps the last counts
    assert state.counts == counts
    fuller = counts.model_copy(update={"occupancy": 4})
    state.apply([], fuller)
    assert (state.counts, state.counts_changed_in) == (fuller, 4)


def test_streams_share_the_feed_and_send_changes_and_heartbeats() -> None:
    reads: list[list[str]] = []

    def read(
        station_ids: Sequence[str], with_counts: bool
    ) -> tuple[list[StationRow], StationCounts | None]:
        reads.append(list(station_ids))
        occupancy = 0 if len(reads) < 4 else 1
        return [_row(s, occupancy) for s in station_ids if s != "gone"], None

    feed = LiveFeed(read, poll_s=0.001)
    ticks, other = iter(map(float, range(1000))), iter(map(float, range(1000)))

    async def collect(stream: AsyncIterator[str]) -> list[str]:
        return [message async for message in stream]

    async def two_tabs() -> tuple[list[str], list[str]]:
        first, second = await asyncio.gather(
            collect(
                feed.stream(
                    ["a", "gone"], heartbeat_s=99, max_s=20, clock=lambda: float(next(other))
                )
            ),
            collect(feed.stream(["a"], heartbeat_s=2, max_s=40, clock=lambda: next(ticks))),
        )
        await asyncio.sleep(0.01)  # the feed notices nobody is left
        return first, second

    # A thread of its own: Playwright's session-wide browser keeps an event loop running in
    # this one when the browser tests ran first.
    with ThreadPoolExecutor(1) as pool:
        first, second = pool.submit(asyncio.run, two_tabs()).result()
    assert second[0] == "retry: 3000\n\n"
    rows = [m for m in second[1:] if m.startswith("event: stations")]
    assert len(rows) == 2  # every row, then the one change; nothing else changed
    assert '"occupancy": 0' in rows[0]
    assert '"occupancy": 1' in rows[1]
    assert ": keepalive\n\n" in second  # its clock ran: quiet spells get a heartbeat
    assert first[1].startswith("event: stations")
    assert '"a"' in first[1]
    assert '"gone"' not in first[1]  # an unknown station is simply not sent
    assert all(ids in (["a"], ["a", "gone"]) for ids in reads)  # one read for both tabs
    assert dict(feed.state.watched) == {}
