"""The server's MQTT consumer, dispatch only: paho hands messages to a queue; one worker thread
checks each (topic, size, the station's own signature, payload model, station id in the
payload = station in the topic) and hands it to its capability: ``access.handler`` answers
requests, ``events.store`` stores events, ``stations.repo`` records heartbeats and
births/wills. Replies go out through ``Publisher``.

Requests and events arrive through shared subscriptions, so several server workers can split
them; station state is retained, which shared subscriptions do not deliver, so every worker
subscribes to it directly (its handling is idempotent).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import Engine

from mqttlink import Inbound, Link, LinkSettings
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
from protocol.signing import SignatureCheck, key_id, verify
from protocol.topics import Family
from server.access.flood import RequestBudget
from server.access.handler import AccessPolicy, handle_access_request
from server.core.db import session_scope
from server.core.localtime import Clock, utcnow
from server.core.settings import ServerSettings
from server.events.store import store_events
from server.keys.ring import KeyHolder
from server.mqtt.publisher import Publisher
from server.stations.identity import StationKeys
from server.stations.repo import record_heartbeat, set_station_state

log = logging.getLogger(__name__)

BATCH_MAX = 500
HEARTBEAT_MAX_AGE_S = 120.0  # beyond its interval: clocks may differ a little, not minutes
_FROM_STATIONS = frozenset({Family.ACCESS_REQUEST, Family.EVENTS, Family.HEARTBEAT, Family.STATE})


class MqttConsumer:
    def __init__(
        self, settings: ServerSettings, engine: Engine, keys: KeyHolder, clock: Clock = time.time
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._keys = keys
        self._clock = clock
        self._queue: queue.SimpleQueue[Inbound | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="mqtt-consumer", daemon=True)
        self.events_stored = 0
        self.dropped: Counter[str] = Counter()
        self.station_keys = StationKeys(engine)
        self._budget = RequestBudget(settings.access_requests_per_s, settings.access_request_burst)
        group = settings.share_group_name
        self._link = Link(
            client_id=f"server-{uuid.uuid4().hex[:12]}",
            settings=LinkSettings(
                host=settings.broker_host,
                port=settings.broker_port,
                username=settings.broker_username,
                password=(
                    settings.broker_password.get_secret_value()
                    if settings.broker_password is not None
                    else None
                ),
                ca_file=str(settings.broker_ca) if settings.broker_ca else None,
            ),
            on_message=self._queue.put,
            subscriptions=[
                (topics.shared(group, topics.all_stations(Family.ACCESS_REQUEST)), 1),
                (topics.shared(group, topics.all_stations(Family.EVENTS)), 1),
                (topics.shared(group, topics.all_stations(Family.HEARTBEAT)), 0),
                (topics.all_stations(Family.STATE), 1),
            ],
        )
        self.publisher = Publisher(self._link, engine, keys, settings)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._worker.start()
        self._link.start()

    def stop(self) -> None:
        self._link.stop()
        self._queue.put(None)
        self._worker.join(timeout=10)

    def wait_connected(self, timeout_s: float) -> bool:
        return self._link.wait_connected(timeout_s)

    # -- the worker ------------------------------------------------------------------------
    def _run(self) -> None:
        """Take what is queued, up to a batch: access requests first, one by one (a rider is
        waiting); then all events and heartbeats of the batch in one transaction."""
        while (first := self._queue.get()) is not None:
            batch = [first]
            while len(batch) < BATCH_MAX:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            events: list[StationEvent] = []
            heartbeats: list[Heartbeat] = []
            for message in batch:
                self._guarded(message, events, heartbeats)
            if events or heartbeats:
                self._store_batch(events, heartbeats)

    def _guarded(
        self, message: Inbound, events: list[StationEvent], heartbeats: list[Heartbeat]
    ) -> None:
        try:
            self._dispatch(message, events, heartbeats)
        except PayloadError as exc:
            self._drop(message, "invalid", str(exc))
        except Exception:
            # Log and go on: one bad message must not stop the station's next rider.
            self.dropped["error"] += 1
            log.exception("failed to handle a message on %s", message.topic)

    def _dispatch(
        self, message: Inbound, events: list[StationEvent], heartbeats: list[Heartbeat]
    ) -> None:
        parsed = topics.parse(message.topic)
        if parsed is None:
            return self._drop(message, "topic", "not a station topic")
        if parsed.family not in _FROM_STATIONS:
            return self._drop(message, "topic", "family not handled by the server")
        if parsed.family is Family.STATE and not message.payload:
            return None  # a cleared retained message
        if len(message.payload) > MAX_PAYLOAD_BYTES:
            return self._drop(message, "too_large", f"{len(message.payload)} bytes")
        refused = self._unsigned_by_station(parsed.family, parsed.station_id, message)
        if refused is not None:
            # Only the station itself can speak for it: a broker password alone cannot.
            return self._drop(message, refused, "not signed by the station")
        if parsed.family is Family.ACCESS_REQUEST:
            if not self._budget.allow(parsed.station_id, time.monotonic()):
                return self._drop(message, "rate_limited", "too many access requests")
            self._on_access_request(parsed.station_id, message)
        elif parsed.family is Family.EVENTS:
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

    def _unsigned_by_station(self, family: Family, station_id: str, message: Inbound) -> str | None:
        """None when the station's registered key signed this message, else why not."""
        key = self.station_keys.get(station_id)
        if key is None:
            return "unknown_station"
        check = self._verify(family, station_id, key, message)
        if check is SignatureCheck.BAD_SIGNATURE or check is SignatureCheck.UNKNOWN_KEY:
            fresh = self.station_keys.get(station_id, fresh=True)  # provisioned anew?
            if fresh is not None and fresh != key:
                check = self._verify(family, station_id, fresh, message)
        return None if check is SignatureCheck.OK else check.value

    @staticmethod
    def _verify(family: Family, station_id: str, key: bytes, message: Inbound) -> SignatureCheck:
        return verify(
            message.user_properties,
            keys={key_id(key): key},
            family=family,
            station_id=station_id,
            payload=message.payload,
        )

    def _on_access_request(self, station_id: str, message: Inbound) -> None:
        request = parse(AccessRequest, message.payload)
        if request.station_id != station_id:
            return self._drop(message, "mismatch", f"payload names {request.station_id}")
        now = self._clock()
        policy = AccessPolicy(
            keys=self._keys.ring.published(datetime.fromtimestamp(now, UTC)),
            audience=self._settings.audience,
            decision_ttl_s=self._settings.decision_ttl_s,
        )
        with session_scope(self._engine) as session:
            decision = handle_access_request(session, request=request, policy=policy, now=now)
        correlation = message.correlation_data or request.request_id.encode()
        self.publisher.answer(station_id, decision, correlation)
        return None

    def _store_batch(self, events: list[StationEvent], heartbeats: list[Heartbeat]) -> None:
        now = utcnow()
        try:
            with session_scope(self._engine) as session:
                acks = store_events(session, events=events, received_at=now)
                for heartbeat in heartbeats:
                    if not record_heartbeat(session, heartbeat=heartbeat, now=now):
                        self.dropped["unknown_station"] += 1
                session.commit()
        except Exception:
            # Nothing acknowledged: the stations send these events again.
            self.dropped["error"] += len(events) + len(heartbeats)
            log.exception("failed to store a batch of %d events", len(events))
            return
        self.events_stored += len(events)
        unknown = len(events) - sum(len(ack.acked) for ack in acks)
        if unknown:
            self.dropped["unknown_station"] += unknown
        self.publisher.acknowledge(acks)

    def _on_state(self, station_id: str, message: Inbound) -> None:
        state = parse(StationState, message.payload)
        if state.station_id != station_id:
            return self._drop(message, "mismatch", f"payload names {state.station_id}")
        with session_scope(self._engine) as session:
            station = set_station_state(session, state=state, now=datetime.now(UTC))
            if station is None:
                return self._drop(message, "unknown_station", station_id)
        if state.online:
            # Re-sent at every birth: cheap, and heals a broker that lost its retained store.
            self.publisher.publish_config(station_id)
        return None

    def _drop(self, message: Inbound, counter: str, why: str) -> None:
        self.dropped[counter] += 1
        count = self.dropped[counter]
        if count & (count - 1) == 0:  # the 1st, 2nd, 4th, 8th...: a flood must not flood the log
            log.warning(
                "dropped message on %s: %s (%s: %d so far)", message.topic, why, counter, count
            )
