"""Prints every entry, exit and denial as it crosses the broker."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from i18n import rider_message
from mqttlink import Inbound, Link, LinkSettings
from protocol import topics
from protocol.payloads import EventKind, Passage, PayloadError, StationEvent, parse
from protocol.topics import Family
from server.core.localtime import as_local


def describe(event: StationEvent) -> str | None:
    """One console line for the events a person watching the demo cares about."""
    when = as_local(event.occurred_at).strftime("%H:%M:%S")
    if event.kind is EventKind.DOOR_OPENED and event.passage is Passage.ENTRY:
        what = f"ENTRY   {event.rider_id or 'unknown rider'}"
    elif event.kind is EventKind.DOOR_OPENED and event.passage is Passage.EXIT:
        what = "EXIT"
    elif event.kind is EventKind.ACCESS_DENIED and event.reason is not None:
        what = f"DENIED  {event.reason.value}: {rider_message(event.reason, 'en')}"
    elif event.kind is EventKind.ALARM_RAISED:
        what = f"ALARM   {event.alarm} {event.detail or ''}".rstrip()
    elif event.kind is EventKind.ALARM_CLEARED:
        what = f"CLEARED {event.alarm}"
    else:
        return None
    return f"{when}  {event.station_id:<11} {what}"


class EventTap:
    def __init__(self, settings: LinkSettings, out: TextIO = sys.stdout) -> None:
        self._out = out
        self._guard = threading.Lock()
        self._link = Link(
            client_id="demo-tap",
            settings=settings,
            on_message=self._on_message,
            subscriptions=[(topics.all_stations(Family.EVENTS), 1)],
        )

    def start(self) -> None:
        self._link.start()
        self._link.wait_connected(5)

    def stop(self) -> None:
        self._link.stop()

    def _on_message(self, message: Inbound) -> None:
        try:
            line = describe(parse(StationEvent, message.payload))
        except PayloadError:
            return
        if line is not None:
            with self._guard:
                print(line, file=self._out, flush=True)
