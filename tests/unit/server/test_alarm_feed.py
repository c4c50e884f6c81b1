"""The alarm feed: what a stream sends for each poll (pure), and streams fed by a fake read
(no database): one read a poll for every tab, the first message at once, then only changes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from server.alarms.live import AlarmFeed, AlarmPulse, NewestAlarm, messages

NEWEST = NewestAlarm(7, "st-1", "西湖驿站", "forced_open", "2026-12-01T04:00:00+00:00")


def _describe(alarm: NewestAlarm) -> str:
    return f"{alarm.station_name}: {alarm.kind}"


def _pulse(open_: int = 1, version: str = "v1", **activity: str | None) -> AlarmPulse:
    return AlarmPulse(open=open_, version=version, newest=NEWEST, activity=activity)


def _events(sent: list[str]) -> list[tuple[str, object]]:
    found = []
    for message in sent:
        event, data = message.strip().split("\n")
        found.append((event.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return found


def test_the_first_message_says_everything_then_only_what_changed() -> None:
    first = _pulse(**{"st-1": "2026-12-01T04:00:00+00:00"})
    assert _events(messages(first, None, ["st-1"], _describe)) == [
        (
            "alarms",
            {
                "open": 1,
                "version": "v1",
                "newest": {
                    "id": 7,
                    "station_id": "st-1",
                    "station_name": "西湖驿站",
                    "kind": "forced_open",
                    "raised_at": "2026-12-01T04:00:00+00:00",
                    "text": "西湖驿站: forced_open",
                },
            },
        ),
        ("activity", {"st-1": "2026-12-01T04:00:00+00:00"}),
    ]
    assert messages(first, first, ["st-1"], _describe) == []  # nothing new: nothing sent
    acknowledged = _pulse(0, "v2", **{"st-1": "2026-12-01T04:00:00+00:00"})
    assert [e for e, _ in _events(messages(acknowledged, first, ["st-1"], _describe))] == ["alarms"]
    moved = _pulse(0, "v2", **{"st-1": "2026-12-01T04:05:00+00:00"})
    assert [e for e, _ in _events(messages(moved, acknowledged, ["st-1"], _describe))] == [
        "activity"
    ]


def test_a_stream_that_follows_no_station_gets_no_activity() -> None:
    pulse = _pulse(**{"st-2": "2026-12-01T04:00:00+00:00"})
    assert [e for e, _ in _events(messages(pulse, None, [], _describe))] == ["alarms"]
    other = _pulse(**{"st-2": "2026-12-01T05:00:00+00:00"})
    assert messages(other, pulse, [], _describe) == []  # another page's station


def test_tabs_share_one_read_a_poll() -> None:
    reads: list[list[str]] = []

    def read(followed: Sequence[str]) -> AlarmPulse:
        reads.append(list(followed))
        version = "v1" if len(reads) < 4 else "v2"
        return AlarmPulse(open=int(len(reads) >= 4), version=version, newest=None, activity={})

    feed = AlarmFeed(read, poll_s=0.001)
    ticks, other = iter(map(float, range(1000))), iter(map(float, range(1000)))

    async def collect(stream: AsyncIterator[str]) -> list[str]:
        return [message async for message in stream]

    async def two_tabs() -> tuple[list[str], list[str]]:
        first, second = await asyncio.gather(
            collect(feed.stream(["st-1"], _describe, heartbeat_s=99, max_s=20,
                                clock=lambda: next(other))),
            collect(feed.stream([], _describe, heartbeat_s=2, max_s=40,
                                clock=lambda: next(ticks))),
        )  # fmt: skip
        await asyncio.sleep(0.01)  # the feed notices nobody is left
        return first, second

    # A thread of its own: Playwright's session-wide browser may keep a loop in this one.
    with ThreadPoolExecutor(1) as pool:
        first, second = pool.submit(asyncio.run, two_tabs()).result()
    assert second[0] == "retry: 3000\n\n"
    alarms = [m for m in second if m.startswith("event: alarms")]
    assert len(alarms) == 2  # the first look, then the one change
    assert '"open": 0' in alarms[0]
    assert '"open": 1' in alarms[1]
    assert ": keepalive\n\n" in second
    assert any(m.startswith("event: activity") for m in first)
    assert not any(m.startswith("event: activity") for m in second)
    assert all(followed in ([], ["st-1"]) for followed in reads)
