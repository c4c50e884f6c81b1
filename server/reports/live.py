"""The overview's live stream: server-sent events with the station rows that changed.

One ``LiveFeed`` per server process polls the database (about once a second) for the stations
that some open stream shows, and every stream reads the result: five open tabs cost one query
a poll, not five. A stream asks for the rows of its page (at most a page's worth), not for
every station. Reading the database rather than listening to the MQTT consumer keeps it right
when several server workers share the stations' messages: whichever worker stored a change,
every stream sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import anyio

from server.reports.models import StationCounts, StationRow

log = logging.getLogger(__name__)

POLL_S = 1.0
SUMMARY_EVERY = 5  # polls between two recounts of every station (a tile, not a row)
HEARTBEAT_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream
MAX_STREAM_S = 600.0  # then the browser reconnects (EventSource does) and gets a fresh snapshot
RETRY_MS = 3000
MAX_STREAM_STATIONS = 200  # one page of the overview


def sse_message(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@dataclass
class FeedState:
    """What the feed knows (no I/O): the rows of the stations some stream watches, with the
    poll at which each last changed, so a stream sends only what it has not seen."""

    watched: Counter[str] = field(default_factory=Counter)
    rows: dict[str, StationRow] = field(default_factory=dict)
    changed_in: dict[str, int] = field(default_factory=dict)
    polls: int = 0
    counts: StationCounts | None = None
    counts_changed_in: int = 0

    def watch(self, station_ids: Iterable[str]) -> None:
        self.watched.update(set(station_ids))

    def unwatch(self, station_ids: Iterable[str]) -> None:
        self.watched.subtract(set(station_ids))
        for station_id in [s for s, n in self.watched.items() if n <= 0]:
            del self.watched[station_id]
            self.rows.pop(station_id, None)
            self.changed_in.pop(station_id, None)

    def unread(self, station_ids: Iterable[str]) -> bool:
        """One of these stations is not read yet (a stream waits for its first rows)."""
        return any(s not in self.changed_in for s in station_ids)

    def apply(self, rows: Sequence[StationRow], counts: StationCounts | None = None) -> None:
        """The result of one poll of the watched stations (a station not in it is gone)."""
        self.polls += 1
        found = {row.id: row for row in rows}
        for station_id in list(self.watched):
            row = found.get(station_id)
            if row is None:
                self.rows.pop(station_id, None)
                self.changed_in.setdefault(station_id, self.polls)
            elif self.rows.get(station_id) != row:
                self.rows[station_id] = row
                self.changed_in[station_id] = self.polls
        if counts is not None and counts != self.counts:
            self.counts, self.counts_changed_in = counts, self.polls

    def changed_since(self, station_ids: Iterable[str], seen: int) -> list[StationRow]:
        """The rows of these stations that changed after poll ``seen`` (0: all of them)."""
        return [
            self.rows[s]
            for s in sorted(set(station_ids))
            if s in self.rows and self.changed_in.get(s, 0) > seen
        ]


# Reads the watched stations (and, when asked, the counts of all): runs in a worker thread.
ReadRows = Callable[[Sequence[str], bool], tuple[list[StationRow], StationCounts | None]]


class LiveFeed:
    """The process's one poller, started by the first stream and idle without one."""

    def __init__(self, read: ReadRows, *, poll_s: float = POLL_S) -> None:
        self._read = read
        self._poll_s = poll_s
        self.state = FeedState()
        self._streams = 0
        self._summary_streams = 0
        self._polled: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        assert self._wake is not None
        while self._streams:
            summary = self._summary_streams > 0 and (
                self.state.counts is None or self.state.polls % SUMMARY_EVERY == 0
            )
            watched = sorted(self.state.watched)
            try:
                rows, counts = await anyio.to_thread.run_sync(self._read, watched, summary)
            except Exception:  # the database away for a moment: streams keep their last rows
                log.exception("live feed: reading the stations failed; retrying")
            else:
                self.state.apply(rows, counts)
                polled, self._polled = self._polled, asyncio.Event()
                if polled is not None:
                    polled.set()
            self._wake.clear()
            # A new stream does not wait a whole interval. (Plain asyncio: this task is not
            # one of anyio's, so its cancel scopes would never fire here.)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)
        self._task = None

    async def next_poll(self, timeout_s: float) -> None:
        """Until the next poll is in (or ``timeout_s``: a stream still sends its keepalive)."""
        assert self._polled is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._polled.wait(), timeout_s)

    async def close(self) -> None:
        """Stop polling (the server is stopping)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _join(self, station_ids: Sequence[str], summary: bool) -> None:
        if self._polled is None:
            self._polled, self._wake = asyncio.Event(), asyncio.Event()
        self._streams += 1
        self._summary_streams += int(summary)
        self.state.watch(station_ids)
        assert self._wake is not None
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _leave(self, station_ids: Sequence[str], summary: bool) -> None:
        self._streams -= 1
        self._summary_streams -= int(summary)
        self.state.unwatch(station_ids)

    async def stream(
        self,
        station_ids: Sequence[str],
        *,
        summary: bool = False,
        heartbeat_s: float = HEARTBEAT_S,
        max_s: float = MAX_STREAM_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> AsyncIterator[str]:
        """Server-sent events: ``stations`` with every watched row first, then the rows that
        changed; ``summary`` with the station counts when asked. Ends when the client goes
        away (the response cancels the generator) or after ``max_s``."""
        yield f"retry: {RETRY_MS}\n\n"
        self._join(station_ids, summary)
        try:
            seen, counts_seen, checked = 0, 0, -1
            started = last_sent = clock()
            first = True
            while clock() - started < max_s:
                if self.state.polls == checked:
                    await self.next_poll(heartbeat_s)
                if self.state.polls != checked:
                    checked = self.state.polls
                    # A stream's first message waits until all its stations have been read.
                    if not (first and self.state.unread(station_ids)):
                        rows = self.state.changed_since(station_ids, seen)
                        if rows or first:
                            data = [row.model_dump(mode="json") for row in rows]
                            yield sse_message("stations", data)
                            last_sent = clock()
                        counts = self.state.counts
                        if summary and counts and self.state.counts_changed_in > counts_seen:
                            yield sse_message("summary", counts.model_dump())
                            counts_seen, last_sent = self.state.counts_changed_in, clock()
                        seen, first = checked, False
                if clock() - last_sent >= heartbeat_s:
                    yield ": keepalive\n\n"
                    last_sent = clock()
        finally:
            self._leave(station_ids, summary)
