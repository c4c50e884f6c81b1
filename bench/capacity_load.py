"""The load of many stations on a few MQTT connections, speaking the wire contract: each
message signed with its station's own key, as its agent would sign it. An open broker only:
in secure mode a station's account may publish on its own topics alone (docs/security.md).

- heartbeats (QoS 0) at a set rate, cycling through every station, from a child process of
  their own: 3,100 signed publishes a second are most of a core of Python, and in the same
  process they would hold the GIL while a decision waits to be timed;
- access requests (QoS 1, correlation data) at a set rate, each with a fresh rider code;
  the time from publish to the decision received is recorded;
- the events an answered request produces, as the station's outbox sends them: a grant gives
  access_granted, door_opened (entry), door_closed; a denial gives access_denied.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as ProcessEvent

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


def beat_forever(
    port: int,
    seeds: dict[str, bytes],
    rate: Synchronized[float],
    sent: Synchronized[int],
    ready: ProcessEvent,
    done: ProcessEvent,
) -> None:
    """The heartbeat process: beat at whatever ``rate`` says (0: pause) until ``done``,
    counting what it sent in ``sent``."""
    keys = {station_id: SigningKey(seed) for station_id, seed in seeds.items()}
    order = itertools.cycle(keys)
    link = _link(port, "beats")
    ready.set()
    current, started, beaten = 0.0, time.monotonic(), 0
    try:
        while not done.is_set():
            if (wanted := rate.value) != current:
                current, started, beaten = wanted, time.monotonic(), 0
            due = int((time.monotonic() - started) * current)
            for _ in range(due - beaten):
                station_id = next(order)
                Fleet.send(link, heartbeat(keys[station_id], station_id), qos=0)
            if due > beaten:
                with sent.get_lock():
                    sent.value += due - beaten
                beaten = due
            time.sleep(TICK_S)
    finally:
        link.stop()


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
        spawn = multiprocessing.get_context("spawn")  # this process has threads: no fork
        self._beat_rate: Synchronized[float] = spawn.Value("d", 0.0)
        self._beats_sent: Synchronized[int] = spawn.Value("q", 0)
        self._beats_done = spawn.Event()
        ready = spawn.Event()
        seeds = {station_id: key.seed for station_id, key in keys.items()}
        self._beater = spawn.Process(
            target=beat_forever,
            args=(port, seeds, self._beat_rate, self._beats_sent, ready, self._beats_done),
            name="heartbeats",
            daemon=True,
        )
        self._beater.start()
        if not ready.wait(120):
            raise RuntimeError("the heartbeat process did not start")
        self._events = _link(port, "events")
        self._requests = _link(
            port,
            "requests",
            on_message=self._on_decision,
            subscriptions=[(topics.all_stations(Family.ACCESS_DECISION), 1)],
        )

    def close(self) -> None:
        self._beats_done.set()
        self._beater.join(10)
        for link in (self._events, self._requests):
            link.stop()

    def reset(self) -> Tally:
        """Start a new phase; the previous phase's tally."""
        done, self.tally = self.tally, Tally()
        with self._pending_lock:
            self._pending.clear()
        return done

    # -- heartbeats --------------------------------------------------------------------------
    def send_heartbeats(self, rate_per_s: float, stop: threading.Event) -> None:
        """Beat (in the heartbeat process) until ``stop``."""
        before = self._beats_sent.value
        self._beat_rate.value = rate_per_s
        stop.wait()
        self._beat_rate.value = 0.0
        time.sleep(3 * TICK_S)  # its last tick counted
        self.tally.heartbeats += self._beats_sent.value - before

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
            self.send(self._events, message, qos=1)
            self.tally.events += 1

    def unanswered(self) -> int:
        with self._pending_lock:
            return len(self._pending)

    @staticmethod
    def send(link: Link, message: Outgoing, *, qos: int) -> None:
        link.publish(
            message.topic, message.payload, qos=qos, user_properties=message.user_properties
        )
