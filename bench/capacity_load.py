"""The load of many stations on a few MQTT connections, speaking the wire contract: each
message signed with its station's own key, as its agent would sign it. An open broker only:
in secure mode a station's account may publish on its own topics alone (docs/security.md).

- heartbeats (QoS 0) at a set rate, cycling through every station;
- access requests (QoS 1, correlation data) at a set rate, each with a fresh rider code;
  the time from publish to the decision received is recorded;
- the events an answered request produces, as the station's outbox sends them: a grant gives
  access_granted, door_opened (entry), door_closed; a denial gives access_denied.
"""

from __future__ import annotations

import itertools
import json
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from mqttlink import Inbound, Link, LinkSettings
from protocol import topics
from protocol.payloads import EventKind, Passage
from protocol.signing import SigningKey
from protocol.topics import Family
from tests.support.fleet import Outgoing, access_request, event, heartbeat

TICK_S = 0.01  # publish in small bursts every 10 ms: steady enough, cheap to pace


@dataclass
class Tally:
    """What the generator sent and what came back, for one phase."""

    heartbeats: int = 0
    requests: int = 0
    events: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    granted: int = 0
    denied: int = 0
    late_or_unmatched: int = 0


def paced(rate_per_s: float, stop: threading.Event) -> Iterator[int]:
    """How many messages to send at each tick to keep ``rate_per_s`` on average."""
    started = time.monotonic()
    sent = 0
    while not stop.is_set():
        due = int((time.monotonic() - started) * rate_per_s)
        if due > sent:
            yield due - sent
            sent = due
        time.sleep(TICK_S)


def _link(
    port: int,
    name: str,
    on_message: Callable[[Inbound], None] = lambda _: None,
    subscriptions: Sequence[tuple[str, int]] = (),
) -> Link:
    link = Link(
        client_id=f"load-{name}-{uuid.uuid4().hex[:6]}",
        settings=LinkSettings(port=port),
        on_message=on_message,
        subscriptions=subscriptions,
    )
    link.start()
    if not link.wait_connected(10):
        raise RuntimeError("the load generator could not reach the broker")
    return link


class Fleet:
    """Every simulated station, its key and its outbox sequence."""

    def __init__(self, port: int, keys: dict[str, SigningKey], tokens: Iterator[str]) -> None:
        self.keys = keys
        self.ids = list(keys)
        self._tokens = tokens
        self._epoch = uuid.uuid4().hex[:16]
        self._seq = dict.fromkeys(self.ids, 0)
        self._seq_lock = threading.Lock()
        self._pending: dict[bytes, tuple[str, float]] = {}  # correlation -> station, sent at
        self._pending_lock = threading.Lock()
        self._outbox: queue.SimpleQueue[tuple[str, dict[str, object]]] = queue.SimpleQueue()
        self.tally = Tally()
        self._rng = random.Random(1)
        self._beat_order = itertools.cycle(self.ids)
        self._beats = _link(port, "beats")
        self._events = _link(port, "events")
        self._requests = _link(
            port,
            "requests",
            on_message=self._on_decision,
            subscriptions=[(topics.all_stations(Family.ACCESS_DECISION), 1)],
        )

    def close(self) -> None:
        for link in (self._beats, self._events, self._requests):
            link.stop()

    def reset(self) -> Tally:
        """Start a new phase; the previous phase's tally."""
        done, self.tally = self.tally, Tally()
        with self._pending_lock:
            self._pending.clear()
        return done

    # -- heartbeats --------------------------------------------------------------------------
    def send_heartbeats(self, rate_per_s: float, stop: threading.Event) -> None:
        for count in paced(rate_per_s, stop):
            for _ in range(count):
                station_id = next(self._beat_order)
                self._send(self._beats, heartbeat(self.keys[station_id], station_id), qos=0)
            self.tally.heartbeats += count

    # -- requests and their decisions ---------------------------------------------------------
    def send_requests(self, rate_per_s: float, stop: threading.Event) -> None:
        for count in paced(rate_per_s, stop):
            for _ in range(count):
                station_id = self._rng.choice(self.ids)
                request_id, message = access_request(
                    self.keys[station_id], station_id, next(self._tokens)
                )
                with self._pending_lock:
                    self._pending[request_id.encode()] = (station_id, time.monotonic())
                self._requests.publish(
                    message.topic,
                    message.payload,
                    qos=1,
                    correlation_data=request_id.encode(),
                    user_properties=message.user_properties,
                )
            self.tally.requests += count

    def _on_decision(self, message: Inbound) -> None:
        received = time.monotonic()
        with self._pending_lock:
            pending = self._pending.pop(message.correlation_data or b"", None)
        if pending is None:
            self.tally.late_or_unmatched += 1
            return
        station_id, sent_at = pending
        self.tally.latencies_ms.append((received - sent_at) * 1000)
        # The events go out from another thread: paho's network thread only hands over.
        self._outbox.put((station_id, json.loads(message.payload)))

    def send_events(self, stop: threading.Event) -> None:
        """The stations' outboxes: the events of each answered request."""
        while not stop.is_set() or not self._outbox.empty():
            try:
                station_id, decision = self._outbox.get(timeout=0.1)
            except queue.Empty:
                continue
            self._report(station_id, decision)

    def _report(self, station_id: str, decision: dict[str, object]) -> None:
        key = self.keys[station_id]
        rider = decision.get("rider_id")
        request_id = str(decision["request_id"])
        if decision["allowed"]:
            self.tally.granted += 1
            kinds: list[tuple[EventKind, dict[str, object]]] = [
                (EventKind.ACCESS_GRANTED, {"request_id": request_id, "rider_id": rider}),
                (EventKind.DOOR_OPENED, {"passage": Passage.ENTRY, "rider_id": rider}),
                (EventKind.DOOR_CLOSED, {}),
            ]
        else:
            self.tally.denied += 1
            kinds = [(EventKind.ACCESS_DENIED, {"request_id": request_id})]
        for kind, fields in kinds:
            with self._seq_lock:
                self._seq[station_id] += 1
                seq = self._seq[station_id]
            message = event(key, station_id, epoch=self._epoch, seq=seq, kind=kind, **fields)
            self._send(self._events, message, qos=1)
            self.tally.events += 1

    def unanswered(self) -> int:
        with self._pending_lock:
            return len(self._pending)

    @staticmethod
    def _send(link: Link, message: Outgoing, *, qos: int) -> None:
        link.publish(
            message.topic, message.payload, qos=qos, user_properties=message.user_properties
        )
