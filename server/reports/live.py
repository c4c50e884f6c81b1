"""The overview's live stream: server-sent events with the station rows that changed.

Each stream polls the database (about once a second) and sends only what differs from what it
sent before. Reading the database rather than listening to the MQTT consumer keeps it right
when several server workers share the stations' messages: whichever worker stored a change,
every stream sees it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Sequence

import anyio

from server.reports.models import StationRow

POLL_S = 1.0
HEARTBEAT_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream
MAX_STREAM_S = 600.0  # then the browser reconnects (EventSource does) and gets a fresh snapshot
RETRY_MS = 3000


def changed_rows(
    sent: dict[str, str], rows: Sequence[StationRow]
) -> tuple[dict[str, str], list[StationRow]]:
    """The rows that differ from what was sent (by their JSON), and the new record of it.
    A station that disappeared is simply no longer sent."""
    now_sent: dict[str, str] = {}
    changed: list[StationRow] = []
    for row in rows:
        text = row.model_dump_json()
        now_sent[row.id] = text
        if sent.get(row.id) != text:
            changed.append(row)
    return now_sent, changed


def sse_message(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def station_stream(
    read_rows: Callable[[], list[StationRow]],
    *,
    poll_s: float = POLL_S,
    heartbeat_s: float = HEARTBEAT_S,
    max_s: float = MAX_STREAM_S,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[str]:
    """Server-sent events: ``stations`` with every row first, then with the changed rows.
    The response ends the generator when the client goes away."""
    yield f"retry: {RETRY_MS}\n\n"
    sent: dict[str, str] = {}
    started = last_sent = clock()
    while clock() - started < max_s:
        rows = await anyio.to_thread.run_sync(read_rows)
        sent, changed = changed_rows(sent, rows)
        if changed:
            yield sse_message("stations", [row.model_dump(mode="json") for row in changed])
            last_sent = clock()
        elif clock() - last_sent >= heartbeat_s:
            yield ": keepalive\n\n"
            last_sent = clock()
        await anyio.sleep(poll_s)
