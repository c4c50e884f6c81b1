"""The server's MQTT consumer, dispatch only. Paho's thread routes each message by topic into
one of two bounded lanes (``lanes.py``; what does not fit is shed and counted): access
requests, served one by one by their own workers (a rider is waiting), and the bulk lane
(events, heartbeats, births and wills), drained in batches by one worker that writes each
batch of events and of heartbeats in one statement. Each message is checked (size, the
station's own signature, payload model, station id in the payload = station in the topic)
and handed to its capability: ``access.handler`` answers requests, ``events.store`` stores
events, ``stations.liveness`` records heartbeats, ``stations.repo`` births and wills.
Replies go out through ``Publisher``. Requests and events arrive through shared
subscriptions, so several server workers can split them; station state is retained, which
shared subscriptions do not deliver, so every worker subscribes to it directly (idempotent).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import Engine

from mqttlink import Inbound, Link
from protocol import topics
from protocol.payloads import (
    MAX_PAYLOAD_BYTES,
    AccessRequest,
    Heartbeat,
    PayloadError,
    StationEvent,
    StationState,
    parse,
)
from protocol.reasons import Reason
from protocol.topics import Family, StationTopic
from server.access.decision_store import DecisionStore
from server.access.flood import RequestBudget
from server.access.handler import AccessPolicy, handle_access_request, next_step_in
from server.access.next_step import NextStep
from server.core.db import session_scope
from server.core.localtime import Clock, utcnow
from server.core.settings import ServerSettings
from server.events.store import store_events
from server.keys.ring import KeyHolder
from server.metrics.instruments import DecisionMetrics
from server.mqtt.connections import broker_link_settings, work_engines
from server.mqtt.lanes import Lane, RidersFirst, WriteTurns, waited_too_long
from server.mqtt.publisher import Publisher
from server.mqtt.station_signatures import unsigned_by_station
from server.mqtt.thread_cpu import thread_cpu
from server.stations.identity import StationKeys
from server.stations.liveness import record_heartbeats
from server.stations.repo import set_station_state
from telemetry.logs import bind

log = logging.getLogger(__name__)

BATCH_MAX = 500
# How long the bulk worker waits for a batch to fill once it has a message: acknowledgements
# and heartbeats are that much later (stations wait seconds for them), batches fewer.
BATCH_LINGER_S = 0.05
HEARTBEAT_MAX_AGE_S = 120.0  # beyond its interval: clocks may differ a little, not minutes
_FROM_STATIONS = frozenset({Family.ACCESS_REQUEST, Family.EVENTS, Family.HEARTBEAT, Family.STATE})
_TOTALS = frozenset({"events_stored", "heartbeats_stored", "decisions_sent"})

Routed = tuple[StationTopic, Inbound]


class MqttConsumer:
    def __init__(
        self,
        settings: ServerSettings,
        engine: Engine,
        keys: KeyHolder,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._keys = keys
        sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time, and a connection that finds the file locked sleeps
        # in growing steps (up to 100 ms) before it retries: this process's writers take turns
        # instead, decisions first, and the next one starts the moment the last one commits.
        turns = WriteTurns() if sqlite else None
        self._urgent_turn: Callable[[], AbstractContextManager[None]] = (
            turns.urgent if turns else nullcontext
        )
        self._bulk_turn: Callable[[], AbstractContextManager[None]] = (
            turns.bulk if turns else nullcontext
        )
        self._engines = work_engines(settings)
        self._decisions = DecisionStore(self._engines.decisions)
        self._clock = clock
        self._monotonic = monotonic  # how long a request waited in its lane
        # A rider's request has its own lane and workers: it never waits behind bulk writes.
        self._requests: Lane[Routed] = Lane("access", settings.access_queue_max, monotonic)
        self._bulk: Lane[Routed] = Lane("bulk", settings.ingest_queue_max, monotonic)
        self._riders_first = RidersFirst()
        self._workers = [
            threading.Thread(target=self._serve_requests, name=f"mqtt-access-{n}", daemon=True)
            for n in range(settings.access_workers)
        ]
        self._workers.append(
            threading.Thread(target=self._serve_bulk, name="mqtt-bulk", daemon=True)
        )
        self._counts_lock = threading.Lock()
        self._started = False
        self.totals: Counter[str] = Counter()  # decisions sent, events and heartbeats stored
        self.dropped: Counter[str] = Counter()  # by reason, shed load included
        self.decision_metrics = DecisionMetrics()
        self.station_keys = StationKeys(engine)
        self._budget = RequestBudget(settings.access_requests_per_s, settings.access_request_burst)
        self._budget_lock = threading.Lock()
        group = settings.share_group_name
        link_settings = broker_link_settings(settings)
        name = f"server-{uuid.uuid4().hex[:12]}"
        # Two connections: requests (and everything the server sends) on one, bulk topics on
        # the other. The broker queues for each apart, so a backlog of heartbeats waiting in
        # the broker or in a socket never holds back a rider's request.
        self._link = Link(
            client_id=name,
            settings=link_settings,
            on_message=self.on_message,
            subscriptions=[(topics.shared(group, topics.all_stations(Family.ACCESS_REQUEST)), 1)],
        )
        self._bulk_link = Link(
            client_id=f"{name}-bulk",
            settings=link_settings,
            on_message=self.on_message,
            subscriptions=[
                (topics.shared(group, topics.all_stations(Family.EVENTS)), 1),
                (topics.shared(group, topics.all_stations(Family.HEARTBEAT)), 0),
                (topics.all_stations(Family.STATE), 1),
            ],
        )
        self.publisher = Publisher(self._link, engine, keys, settings)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        log.info("%d station keys read", self.station_keys.preload())  # before the first message
        for worker in self._workers:
            worker.start()
        self._link.start()
        self._bulk_link.start()
        self._started = True

    def stop(self) -> None:
        self._bulk_link.stop()
        self._link.stop()
        if not self._started:
            self._decisions.close()
            self._engines.dispose()
            return
        for _ in range(self._settings.access_workers):
            self._requests.close()
        self._bulk.close()
        for worker in self._workers:
            worker.join(timeout=10)
        self._decisions.close()
        self._engines.dispose()
        log.info("consumer stopped: %s", json.dumps(self.stats(), sort_keys=True))

    def wait_connected(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        return self._link.wait_connected(timeout_s) and self._bulk_link.wait_connected(
            max(0.0, deadline - time.monotonic())
        )

    def links_connected(self) -> dict[str, bool]:
        links = {"requests": self._link, "bulk": self._bulk_link}
        return {name: link.connected.is_set() for name, link in links.items()}

    def lanes(self) -> tuple[Lane[Routed], ...]:
        return (self._requests, self._bulk)

    def thread_cpu(self) -> dict[str, float]:
        """CPU seconds each of the consumer's threads has used (its workers, and paho's network
        thread of each link): where a server's time goes, per lane."""
        threads = {worker.name: worker for worker in self._workers}
        for name, link in (("paho-requests", self._link), ("paho-bulk", self._bulk_link)):
            if (thread := link.network_thread()) is not None:
                threads[name] = thread
        return thread_cpu(threads)

    def stats(self) -> dict[str, object]:
        """What this consumer has done so far, and how full its lanes are."""
        with self._counts_lock:
            totals, dropped = dict(self.totals), dict(self.dropped)
        return {
            **totals,
            "access_queued": self._requests.depth(),
            "bulk_queued": self._bulk.depth(),
            "dropped": dropped,
        }

    # -- paho's network thread: route only -------------------------------------------------
    def on_message(self, message: Inbound) -> None:
        """Paho's callback (network thread): route the message into its lane, never block."""
        parsed = self._ours(message)
        if parsed is None:
            return
        if parsed.family is Family.ACCESS_REQUEST:
            self._riders_first.arrived()
            if not self._requests.offer((parsed, message)):
                self._riders_first.answered()
                self._drop(message, "shed_access", "the access lane is full")
        elif parsed.family is Family.HEARTBEAT and self._bulk.depth() > self._bulk.capacity // 2:
            # Heartbeats go first when the bulk lane fills: the next one comes within a minute,
            # while a shed event costs its station a resend.
            self._drop(message, "shed_heartbeat", "the bulk lane is half full")
        elif not self._bulk.offer((parsed, message)):
            self._drop(message, "shed_bulk", "the bulk lane is full")
        return

    def handle(self, message: Inbound) -> None:
        """One message through all its checks and handlers on this thread, no lanes (fuzz tests)."""
        parsed = self._ours(message)
        if parsed is None:
            return
        if parsed.family is Family.ACCESS_REQUEST:
            self._guarded(message, partial(self._on_access_request, parsed.station_id, message))
            return
        events: list[StationEvent] = []
        heartbeats: list[Heartbeat] = []
        self._guarded(message, partial(self._sort, parsed, message, events, heartbeats))
        if events:
            self._store_events(events)
        if heartbeats:
            self._store_heartbeats(heartbeats)

    def _ours(self, message: Inbound) -> StationTopic | None:
        """The station topic of a message the server handles; None (counted) otherwise."""
        parsed = topics.parse(message.topic)
        if parsed is None:
            self._drop(message, "topic", "not a station topic")
            return None
        if parsed.family not in _FROM_STATIONS:
            self._drop(message, "topic", "family not handled by the server")
            return None
        return parsed

    # -- access workers: one request at a time, each as soon as it comes --------------------
    def _serve_requests(self) -> None:
        while (queued := self._requests.take()) is not None:
            parsed, message = queued.item
            if waited_too_long(queued.queued_at, self._monotonic(), self._settings.decision_ttl_s):
                # Its decision would arrive expired: the station has decided offline already.
                self._drop(message, "access_stale", "waited past the decision's lifetime")
            else:  # (_guarded lets no exception through)
                self._guarded(message, partial(self._on_access_request, parsed.station_id, message))
            self._riders_first.answered()

    # -- the bulk worker: events and heartbeats, one statement per batch --------------------
    def _serve_bulk(self) -> None:
        stopping = False
        while not stopping and (first := self._bulk.take()) is not None:
            more, stopping = self._bulk.take_more(BATCH_MAX - 1, BATCH_LINGER_S)
            events: list[StationEvent] = []
            heartbeats: list[Heartbeat] = []
            for queued in [first, *more]:
                self._riders_first.step_aside()
                parsed, message = queued.item
                self._guarded(message, partial(self._sort, parsed, message, events, heartbeats))
            if events:
                self._riders_first.step_aside()
                self._store_events(events)
            if heartbeats:
                self._riders_first.step_aside()
                self._store_heartbeats(heartbeats)

    def _guarded(self, message: Inbound, handle: Callable[[], None]) -> None:
        try:
            handle()
        except PayloadError as exc:
            self._drop(message, "invalid", str(exc))
        except Exception:
            # Log and go on: one bad message must not stop the station's next rider.
            self._count("error")
            log.exception("failed to handle a message on %s", message.topic)

    def _checked(self, parsed: StationTopic, message: Inbound) -> bool:
        """Size and signature; False (counted) for a message to drop."""
        if len(message.payload) > MAX_PAYLOAD_BYTES:
            self._drop(message, "too_large", f"{len(message.payload)} bytes")
            return False
        refused = unsigned_by_station(self.station_keys, parsed.family, parsed.station_id, message)
        if refused is not None:
            # Only the station itself can speak for it: a broker password alone cannot.
            self._drop(message, refused, "not signed by the station")
            return False
        return True

    def _sort(
        self,
        parsed: StationTopic,
        message: Inbound,
        events: list[StationEvent],
        heartbeats: list[Heartbeat],
    ) -> None:
        if parsed.family is Family.STATE and not message.payload:
            return None  # a cleared retained message
        if not self._checked(parsed, message):
            return None
        if parsed.family is Family.EVENTS:
            event = parse(StationEvent, message.payload)
            if event.station_id != parsed.station_id:
                return self._drop(message, "mismatch", f"payload names {event.station_id}")
            events.append(event)
        elif parsed.family is Family.HEARTBEAT:
            heartbeat = parse(Heartbeat, message.payload)
            if heartbeat.station_id != parsed.station_id:
                return self._drop(message, "mismatch", f"payload names {heartbeat.station_id}")
            age = self._clock() - heartbeat.sent_at.timestamp()
            if age > HEARTBEAT_MAX_AGE_S + heartbeat.interval_s:
                # A recorded one played back must not vouch for a station that is gone.
                return self._drop(message, "stale", f"heartbeat sent {age:.0f} s ago")
            heartbeats.append(heartbeat)
        else:
            self._on_state(parsed.station_id, message)
        return None

    def _on_access_request(self, station_id: str, message: Inbound) -> None:
        started = time.perf_counter()
        bind(station_id=station_id)  # this thread's log lines name the station, then the request
        if not self._checked(StationTopic(station_id, Family.ACCESS_REQUEST), message):
            return None
        with self._budget_lock:
            allowed = self._budget.allow(station_id, time.monotonic())
        if not allowed:
            return self._drop(message, "rate_limited", "too many access requests")
        request = parse(AccessRequest, message.payload)
        bind(station_id=station_id, request_id=request.request_id)
        if request.station_id != station_id:
            return self._drop(message, "mismatch", f"payload names {request.station_id}")
        now = self._clock()
        policy = AccessPolicy(
            keys=self._keys.ring.published(datetime.fromtimestamp(now, UTC)),
            audience=self._settings.audience,
            decision_ttl_s=self._settings.decision_ttl_s,
        )
        with self._urgent_turn():
            decision = handle_access_request(
                self._decisions,
                request=request,
                policy=policy,
                now=now,
                next_step_of=self._next_step,
            )
        correlation = message.correlation_data or request.request_id.encode()
        self.publisher.answer(station_id, decision, correlation)
        self._count("decisions_sent")
        self.decision_metrics.observe(decision, time.perf_counter() - started)
        return None

    def _next_step(self, station_id: str, reason: Reason, now: float) -> NextStep:
        with session_scope(self._engine) as session:
            return next_step_in(session, station_id, reason, now)

    def _store_events(self, events: list[StationEvent]) -> None:
        try:
            with self._bulk_turn(), session_scope(self._engines.events) as session:
                acks = store_events(session, events=events, received_at=utcnow())
        except Exception:
            # Nothing acknowledged: the stations send these events again.
            self._count("error", len(events))
            log.exception("failed to store a batch of %d events", len(events))
            return
        unknown = len(events) - sum(len(ack.acked) for ack in acks)
        if unknown:
            self._count("unknown_station", unknown)
        self._count("events_stored", len(events) - unknown)
        self.publisher.acknowledge(acks)

    def _store_heartbeats(self, heartbeats: list[Heartbeat]) -> None:
        try:
            with self._bulk_turn(), session_scope(self._engines.heartbeats) as session:
                unknown = record_heartbeats(session, heartbeats=heartbeats, now=utcnow())
                session.commit()
        except Exception:
            self._count("error", len(heartbeats))
            log.exception("failed to store a batch of %d heartbeats", len(heartbeats))
            return
        if unknown:
            self._count("unknown_station", unknown)
        self._count("heartbeats_stored", len(heartbeats) - unknown)

    def _on_state(self, station_id: str, message: Inbound) -> None:
        state = parse(StationState, message.payload)
        if state.station_id != station_id:
            return self._drop(message, "mismatch", f"payload names {state.station_id}")
        with self._bulk_turn(), session_scope(self._engine) as session:
            station = set_station_state(session, state=state, now=datetime.now(UTC))
            if station is None:
                return self._drop(message, "unknown_station", station_id)
        if state.online:
            # Re-sent at every birth: cheap, and heals a broker that lost its retained store.
            self.publisher.publish_config(station_id)
        return None

    def _count(self, counter: str, n: int = 1) -> None:
        """Add to a total (``totals``) or to a reason for dropping (``dropped``)."""
        with self._counts_lock:
            (self.totals if counter in _TOTALS else self.dropped)[counter] += n

    def _drop(self, message: Inbound, counter: str, why: str) -> None:
        with self._counts_lock:
            self.dropped[counter] += 1
            count = self.dropped[counter]
        if count & (count - 1) == 0:  # the 1st, 2nd, 4th, 8th...: a flood must not flood the log
            log.warning(
                "dropped message on %s: %s (%s: %d so far)", message.topic, why, counter, count
            )
