"""The server's MQTT consumer: paho hands messages to a queue; one worker thread handles them.

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
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from mqttlink import Inbound, Link, LinkSettings
from protocol import topics
from protocol.credential import public_key_to_text
from protocol.payloads import (
    AccessRequest,
    PayloadError,
    StationConfig,
    StationEvent,
    StationState,
    dump,
    parse,
)
from protocol.topics import Family
from server import crud
from server.config import ServerSettings
from server.db import session_scope
from server.keys import SigningKey
from server.mqtt.access import AccessPolicy, handle_access_request

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class MqttConsumer:
    def __init__(
        self, settings: ServerSettings, engine: Engine, key: SigningKey, clock: Clock = time.time
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._key = key
        self._clock = clock
        self._policy = AccessPolicy(
            keys={key.kid: key.public_key},
            audience=settings.audience,
            decision_ttl_s=settings.decision_ttl_s,
        )
        self._queue: queue.SimpleQueue[Inbound | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="mqtt-consumer", daemon=True)
        self.dropped: Counter[str] = Counter()
        group = settings.share_group
        self._link = Link(
            client_id=f"server-{uuid.uuid4().hex[:12]}",
            settings=LinkSettings(
                host=settings.broker_host,
                port=settings.broker_port,
                username=settings.broker_username,
                password=settings.broker_password,
            ),
            on_message=self._queue.put,
            subscriptions=[
                (topics.shared(group, topics.all_stations(Family.ACCESS_REQUEST)), 1),
                (topics.shared(group, topics.all_stations(Family.EVENTS)), 1),
                (topics.all_stations(Family.STATE), 1),
            ],
        )

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

    # -- configuration out -----------------------------------------------------------------
    def publish_config(self, station_id: str, config_version: int) -> None:
        config = StationConfig(
            station_id=station_id,
            config_version=config_version,
            audience=self._settings.audience,
            keys={kid: public_key_to_text(key) for kid, key in self._policy.keys.items()},
        )
        self._link.publish(
            topics.station_topic(station_id, Family.CONFIG), dump(config), qos=1, retain=True
        )

    # -- the worker ------------------------------------------------------------------------
    def _run(self) -> None:
        while (message := self._queue.get()) is not None:
            try:
                self._dispatch(message)
            except PayloadError as exc:
                self._drop(message, "invalid", str(exc))
            except Exception:
                # Log and go on: one bad message must not stop the station's next rider.
                self.dropped["error"] += 1
                log.exception("failed to handle a message on %s", message.topic)

    def _dispatch(self, message: Inbound) -> None:
        parsed = topics.parse(message.topic)
        if parsed is None:
            return self._drop(message, "topic", "not a station topic")
        if parsed.family is Family.ACCESS_REQUEST:
            self._on_access_request(parsed.station_id, message)
        elif parsed.family is Family.EVENTS:
            self._on_event(parsed.station_id, message)
        elif parsed.family is Family.STATE:
            self._on_state(parsed.station_id, message)
        else:
            self._drop(message, "topic", "family not handled by the server")
        return None

    def _on_access_request(self, station_id: str, message: Inbound) -> None:
        request = parse(AccessRequest, message.payload)
        if request.station_id != station_id:
            return self._drop(message, "mismatch", f"payload names {request.station_id}")
        with session_scope(self._engine) as session:
            decision = handle_access_request(
                session, request=request, policy=self._policy, now=self._clock()
            )
        # Answer only on the station's own decision topic, whatever response topic was asked.
        self._link.publish(
            topics.station_topic(station_id, Family.ACCESS_DECISION),
            dump(decision),
            qos=1,
            correlation_data=message.correlation_data or request.request_id.encode(),
            expiry_s=self._settings.decision_ttl_s,
        )
        return None

    def _on_event(self, station_id: str, message: Inbound) -> None:
        event = parse(StationEvent, message.payload)
        if event.station_id != station_id:
            return self._drop(message, "mismatch", f"payload names {event.station_id}")
        with session_scope(self._engine) as session:
            crud.store_event(session, event=event, received_at=datetime.now(UTC))
        return None

    def _on_state(self, station_id: str, message: Inbound) -> None:
        if not message.payload:
            return None  # a cleared retained message
        state = parse(StationState, message.payload)
        if state.station_id != station_id:
            return self._drop(message, "mismatch", f"payload names {state.station_id}")
        with session_scope(self._engine) as session:
            station = crud.set_station_state(session, state=state, now=datetime.now(UTC))
            if station is None:
                return self._drop(message, "unknown_station", station_id)
            config_version = station.config_version
        if state.online:
            # Re-sent at every birth: cheap, and heals a broker that lost its retained store.
            self.publish_config(station_id, config_version)
        return None

    def _drop(self, message: Inbound, counter: str, why: str) -> None:
        self.dropped[counter] += 1
        log.warning("dropped message on %s: %s", message.topic, why)
