"""The alarm console's live feed: server-sent events telling every staff page how many alarms
are open, which is the newest (for the sound and the browser notification), that the list
changed, and when the stations a page shows last reported an event (its usage log).

One ``AlarmFeed`` per server process polls the database about once a second while some
stream is open (a handful of index lookups, whatever the number of tabs) and every stream
reads the result; like the overview's feed (``server.reports.live``) it reads the database,
not the MQTT consumer, so every worker's streams see every worker's changes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import anyio

log = logging.getLogger(__name__)

POLL_S = 1.0
HEARTBEAT_S = 15.0
MAX_STREAM_S = 600.0  # then EventSource reconnects and gets a fresh first message
RETRY_MS = 3000
MAX_FOLLOWED = 20  # stations one stream follows the activity of (a station page: one)


@dataclass(frozen=True, slots=True)
class NewestAlarm:
    id: int
    station_id: str
    station_name: str
    kind: str
    raised_at: str  # ISO 8601


@dataclass(frozen=True, slots=True)
class AlarmPulse:
    """What one poll saw. ``version`` changes with any alarm raised, acknowledged, resolved
    or cleared; ``activity`` is each followed station's last event time (ISO) or None."""

    open: int
    version: str
    newest: NewestAlarm | None
    activity: Mapping[str, str | None] = field(default_factory=dict)


def sse_message(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


Describe = Callable[[NewestAlarm], str]  # the newest alarm in the reader's words


def messages(
    pulse: AlarmPulse,
    before: AlarmPulse | None,
    followed: Sequence[str],
    describe: Describe,
) -> list[str]:
    """What a stream sends for a poll, given what it sent last (None: nothing yet). Pure."""
    out = []
    if before is None or (pulse.open, pulse.version) != (before.open, before.version):
        newest = pulse.newest
        out.append(
            sse_message(
                "alarms",
                {
                    "open": pulse.open,
                    "version": pulse.version,
                    "newest": None
                    if newest is None
                    else {
                        "id": newest.id,
                        "station_id": newest.station_id,
                        "station_name": newest.station_name,
                        "kind": newest.kind,
                        "raised_at": newest.raised_at,
                        "text": describe(newest),
                    },
                },
            )
        )
    seen = {s: pulse.activity.get(s) for s in followed}
    if followed and (before is None or seen != {s: before.activity.get(s) for s in followed}):
        out.append(sse_message("activity", seen))
    return out


ReadPulse = Callable[[Sequence[str]], AlarmPulse]  # runs in a worker thread


class AlarmFeed:
    """The process's one poller, started by the first stream and idle without one."""

    def __init__(self, read: ReadPulse, *, poll_s: float = POLL_S) -> None:
        self._read = read
        self._poll_s = poll_s
        self._followed: Counter[str] = Counter()
        self._streams = 0
        self.pulse: AlarmPulse | None = None
        self.polls = 0
        self._polled: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        assert self._wake is not None
        while self._streams:
            try:
                pulse = await anyio.to_thread.run_sync(self._read, sorted(self._followed))
            except Exception:  # the database away for a moment: streams keep the last pulse
                log.exception("alarm feed: reading the alarms failed; retrying")
            else:
                self.pulse, self.polls = pulse, self.polls + 1
                polled, self._polled = self._polled, asyncio.Event()
                if polled is not None:
                    polled.set()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)
        self._task = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _join(self, followed: Iterable[str]) -> None:
        if self._polled is None:
            self._polled, self._wake = asyncio.Event(), asyncio.Event()
        self._streams += 1
        self._followed.update(set(followed))
        assert self._wake is not None
        self._wake.set()  # a new stream does not wait a whole interval
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _leave(self, followed: Iterable[str]) -> None:
        self._streams -= 1
        self._followed.subtract(set(followed))
        self._followed = +self._followed  # drop the stations no stream follows

    async def stream(
        self,
        followed: Sequence[str],
        describe: Describe,
        *,
        heartbeat_s: float = HEARTBEAT_S,
        max_s: float = MAX_STREAM_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> AsyncIterator[str]:
        """``alarms`` first and whenever they change, ``activity`` likewise for the followed
        stations; a comment line as keepalive. Ends when the client goes away or after
        ``max_s``."""
        yield f"retry: {RETRY_MS}\n\n"
        self._join(followed)
        try:
            sent: AlarmPulse | None = None
            checked = -1
            started = last_sent = clock()
            joined_at = self.polls
            while clock() - started < max_s:
                if self.polls == checked or self.polls == joined_at:
                    assert self._polled is not None
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._polled.wait(), heartbeat_s)
                pulse = self.pulse
                if self.polls not in (checked, joined_at) and pulse is not None:
                    checked = self.polls
                    out = messages(pulse, sent, followed, describe)
                    for message in out:
                        yield message
                    if out:
                        sent, last_sent = pulse, clock()
                if clock() - last_sent >= heartbeat_s:
                    yield ": keepalive\n\n"
                    last_sent = clock()
        finally:
            self._leave(followed)
