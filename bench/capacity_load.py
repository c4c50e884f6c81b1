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

Requests and events are written as raw MQTT packets too (``raw_mqtt.QosOnePublisher``): through
paho, a request and its three events cost the generator about 1.3 ms of CPU, 40 % of a core
at 300 requests a second, taken from the server it measures. Decisions come in through paho.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection

import raw_mqtt

from mqttlink import Inbound, Link, LinkSettings
from protocol import topics
from protocol.payloads import EventKind, Passage
from protocol.signing import SigningKey
from protocol.topics import Family
from tests.support.fleet import access_request, event, heartbeat

TICK_S = 0.01  # publish in small bursts every 10 ms: steady enough, cheap to pace


@dataclass
class Tally:
    """What the generator sent and what came back, for one phase."""

    heartbeats: int = 0
    requests: int = 0
    events: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    # Each answer's latency split at the server's ``decided_at`` (the wall clock of the same
    # machine): request sent to decided (the broker, the server's network thread and the
    # wait in its lane), and decided to answer received.
    to_decided_ms: list[float] = field(default_factory=list)
    after_decided_ms: list[float] = field(default_factory=list)
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


def beat_on_command(port: int, seeds: dict[str, bytes], commands: Connection) -> None:
    """The heartbeat process. ``("prepare", n)``: sign and encode the next ``n`` heartbeats
    (cycling through the stations), answering "ready"; ``("beat", rate)``: send them at
    ``rate`` until ``("stop",)`` comes or they run out, answering how many went; ``("quit",)``."""
    keys = {station_id: SigningKey(seed) for station_id, seed in seeds.items()}
    order = itertools.cycle(keys)
    sock = raw_mqtt.connect(port, f"load-beats-{uuid.uuid4().hex[:6]}")
    packets: list[bytes] = []
    commands.send("ready")
    try:
        while (command := commands.recv())[0] != "quit":
            if command[0] == "prepare":
                packets = []
                for _ in range(int(command[1])):
                    station_id = next(order)
                    beat = heartbeat(keys[station_id], station_id)
                    packets.append(
                        raw_mqtt.publish_packet(beat.topic, beat.payload, beat.user_properties)
                    )
                commands.send("ready")
            elif command[0] == "beat":
                rate, started, sent = float(command[1]), time.monotonic(), 0
                while not commands.poll() and sent < len(packets):
                    due = min(len(packets), int((time.monotonic() - started) * rate))
                    if due > sent:
                        sock.sendall(b"".join(packets[sent:due]))
                        sent = due
                    time.sleep(TICK_S)
                commands.recv()  # the "stop" (it may have come after the last packet)
                packets = []
                commands.send(sent)
    finally:
        sock.close()


class Fleet:
    """Every simulated station, its key and its outbox sequence."""

    def __init__(self, port: int, keys: dict[str, SigningKey], tokens: Iterator[str]) -> None:
        self.keys = keys
        self.ids = list(keys)
        self._tokens = tokens
        self._epoch = uuid.uuid4().hex[:16]
        self._seq = dict.fromkeys(self.ids, 0)
        self._seq_lock = threading.Lock()
        # correlation -> station, sent at (monotonic, wall clock)
        self._pending: dict[bytes, tuple[str, float, float]] = {}
        self._pending_lock = threading.Lock()
        self._outbox: queue.SimpleQueue[tuple[str, dict[str, object]]] = queue.SimpleQueue()
        self.tally = Tally()
        self._rng = random.Random(1)
        self._prepared: list[tuple[str, str, bytes]] = []  # station, request id, packet
        spawn = multiprocessing.get_context("spawn")  # this process has threads: no fork
        self._beat_commands, theirs = spawn.Pipe()
        seeds = {station_id: key.seed for station_id, key in keys.items()}
        self._beater = spawn.Process(
            target=beat_on_command, args=(port, seeds, theirs), name="heartbeats", daemon=True
        )
        self._beater.start()
        if not self._beat_commands.poll(120) or self._beat_commands.recv() != "ready":
            raise RuntimeError("the heartbeat process did not start")
        self._events = raw_mqtt.QosOnePublisher(port, f"load-events-{uuid.uuid4().hex[:6]}")
        self._requests = raw_mqtt.QosOnePublisher(port, f"load-requests-{uuid.uuid4().hex[:6]}")
        self._decisions = _link(
            port,
            "decisions",
            on_message=self._on_decision,
            subscriptions=[(topics.all_stations(Family.ACCESS_DECISION), 1)],
        )

    def pids(self) -> list[int]:
        """This process and the heartbeat process: the load generator's CPU."""
        return [os.getpid(), *([self._beater.pid] if self._beater.pid is not None else [])]

    def close(self) -> None:
        self._beat_commands.send(("quit",))
        self._beater.join(10)
        self._decisions.stop()
        for publisher in (self._events, self._requests):
            publisher.close()

    def reset(self) -> Tally:
        """Start a new phase; the previous phase's tally."""
        done, self.tally = self.tally, Tally()
        with self._pending_lock:
            self._pending.clear()
        return done

    # -- heartbeats --------------------------------------------------------------------------
    def prepare_heartbeats(self, count: int) -> None:
        """Have the next ``count`` heartbeats signed and encoded, before a phase starts (they
        stay fresh for minutes: the server drops one older than its interval + 2 min)."""
        self._beat_commands.send(("prepare", count))
        if self._beat_commands.recv() != "ready":
            raise RuntimeError("the heartbeat process failed")

    def send_heartbeats(self, rate_per_s: float, stop: threading.Event) -> None:
        """Send the prepared heartbeats (in the heartbeat process) until ``stop``."""
        self._beat_commands.send(("beat", rate_per_s))
        stop.wait()
        self._beat_commands.send(("stop",))
        self.tally.heartbeats += int(self._beat_commands.recv())

    # -- requests and their decisions ---------------------------------------------------------
    def prepare_requests(self, count: int) -> None:
        """Sign the next ``count`` requests, each with a fresh rider code, before a phase
        starts (a code lives two minutes)."""
        self._prepared = [self._request() for _ in range(count)]
        self._prepared.reverse()  # popped from the end, in order

    def _request(self) -> tuple[str, str, bytes]:
        station_id = self._rng.choice(self.ids)
        request_id, message = access_request(self.keys[station_id], station_id, next(self._tokens))
        packet = raw_mqtt.publish_packet(
            message.topic,
            message.payload,
            message.user_properties,
            packet_id=self._requests.next_id(),
            correlation_data=request_id.encode(),
        )
        return station_id, request_id, packet

    def send_requests(self, rate_per_s: float, stop: threading.Event) -> None:
        for count in paced(rate_per_s, stop):
            packets = []
            sent_at = time.monotonic()
            sent_wall = time.time()
            with self._pending_lock:
                for _ in range(count):
                    prepared = self._prepared
                    station_id, request_id, packet = prepared.pop() if prepared else self._request()
                    self._pending[request_id.encode()] = (station_id, sent_at, sent_wall)
                    packets.append(packet)
            self._requests.send(b"".join(packets))
            self.tally.requests += count

    def _on_decision(self, message: Inbound) -> None:
        received = time.monotonic()
        with self._pending_lock:
            pending = self._pending.pop(message.correlation_data or b"", None)
        if pending is None:
            self.tally.late_or_unmatched += 1
            return
        received_wall = time.time()
        station_id, sent_at, sent_wall = pending
        self.tally.latencies_ms.append((received - sent_at) * 1000)
        decision = json.loads(message.payload)
        decided = datetime.fromisoformat(decision["decided_at"]).timestamp()
        self.tally.to_decided_ms.append((decided - sent_wall) * 1000)
        self.tally.after_decided_ms.append((received_wall - decided) * 1000)
        # The events go out from another thread: paho's network thread only hands over.
        self._outbox.put((station_id, decision))

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
        packets = []
        for kind, fields in kinds:
            with self._seq_lock:
                self._seq[station_id] += 1
                seq = self._seq[station_id]
            message = event(key, station_id, epoch=self._epoch, seq=seq, kind=kind, **fields)
            packets.append(
                raw_mqtt.publish_packet(
                    message.topic,
                    message.payload,
                    message.user_properties,
                    packet_id=self._events.next_id(),
                )
            )
        self._events.send(b"".join(packets))
        self.tally.events += len(packets)

    def unanswered(self) -> int:
        with self._pending_lock:
            return len(self._pending)
