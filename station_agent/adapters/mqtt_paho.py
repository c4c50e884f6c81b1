"""The agent's Transport over MQTT 5: requests with response topic and correlation data,
events at QoS 1, a retained birth message, and a last will (or, on a clean stop, a goodbye)
that marks the station offline. Every message received becomes an ``inbox`` value."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from mqttlink import Inbound, Link, LinkSettings, Will
from protocol import topics
from protocol.payloads import (
    AccessDecision,
    AccessRequest,
    EventsAck,
    Heartbeat,
    PayloadError,
    StationCommand,
    StationConfig,
    StationState,
    dump,
    parse,
)
from protocol.topics import Family
from station_agent import __version__
from station_agent.config import AgentSettings
from station_agent.inbox import (
    AckArrived,
    CommandArrived,
    ConfigArrived,
    DecisionArrived,
    Inbox,
    LinkChanged,
)
from station_agent.ports import Clock

log = logging.getLogger(__name__)

DECISION_EXPIRY_S = 5  # a request older than this is useless to the rider at the door


class MqttTransport:
    def __init__(
        self,
        settings: AgentSettings,
        inbox: Inbox,
        *,
        session_id: str,
        clock: Clock,
    ) -> None:
        self.station_id = settings.station_id
        self.session_id = session_id
        self.dropped_messages = 0
        self._inbox = inbox
        self._clock = clock
        self._lock_type = settings.lock_type
        self._decision_topic = topics.station_topic(self.station_id, Family.ACCESS_DECISION)
        self._state_topic = topics.station_topic(self.station_id, Family.STATE)
        self._events_topic = topics.station_topic(self.station_id, Family.EVENTS)
        self._heartbeat_topic = topics.station_topic(self.station_id, Family.HEARTBEAT)
        self._link = Link(
            client_id=f"station-{self.station_id}",
            settings=LinkSettings(
                host=settings.broker_host,
                port=settings.broker_port,
                username=settings.broker_username,
                password=settings.broker_password,
            ),
            on_message=self._on_message,
            subscriptions=[
                (self._decision_topic, 1),
                (topics.station_topic(self.station_id, Family.CONFIG), 1),
                (topics.station_topic(self.station_id, Family.EVENTS_ACK), 1),
                (topics.station_topic(self.station_id, Family.COMMANDS), 1),
            ],
            will=Will(self._state_topic, dump(self._state(online=False))),
            on_connected=self._on_connected,
            on_disconnected=lambda: inbox.put(LinkChanged(connected=False)),
        )

    def start(self) -> None:
        self._link.start()

    def stop(self) -> None:
        self._link.stop()

    def is_connected(self) -> bool:
        return self._link.connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._link.wait_connected(timeout_s)

    def request_access(self, request: AccessRequest) -> None:
        self._link.publish(
            topics.station_topic(self.station_id, Family.ACCESS_REQUEST),
            dump(request),
            qos=1,
            response_topic=self._decision_topic,
            correlation_data=request.request_id.encode(),
            expiry_s=DECISION_EXPIRY_S,
        )

    def publish_event(self, payload: bytes) -> None:
        self._link.publish(self._events_topic, payload, qos=1)

    def publish_heartbeat(self, heartbeat: Heartbeat) -> None:
        self._link.publish(self._heartbeat_topic, dump(heartbeat), qos=0)

    def publish_state(self, *, online: bool) -> None:
        state = self._state(online=online)
        info = self._link.publish(self._state_topic, dump(state), qos=1, retain=True)
        if not online and self.is_connected():
            info.wait_for_publish(timeout=2.0)  # the goodbye must leave before we disconnect

    def _state(self, *, online: bool) -> StationState:
        """Birth (online), last will and goodbye (offline) of this session."""
        return StationState(
            station_id=self.station_id,
            online=online,
            session_id=self.session_id,
            agent_version=__version__,
            at=datetime.fromtimestamp(self._clock(), UTC),
            lock_type=self._lock_type,
        )

    def _on_connected(self) -> None:
        self.publish_state(online=True)
        self._inbox.put(LinkChanged(connected=True))

    def _on_message(self, message: Inbound) -> None:
        parsed = topics.parse(message.topic)
        if parsed is None or parsed.station_id != self.station_id:
            return self._drop(message, "not addressed to this station")
        try:
            if parsed.family is Family.ACCESS_DECISION:
                if message.retain:
                    return self._drop(message, "retained decision")
                self._inbox.put(DecisionArrived(parse(AccessDecision, message.payload)))
            elif parsed.family is Family.CONFIG:
                self._inbox.put(ConfigArrived(parse(StationConfig, message.payload)))
            elif parsed.family is Family.EVENTS_ACK:
                self._inbox.put(AckArrived(parse(EventsAck, message.payload)))
            elif parsed.family is Family.COMMANDS:
                command = parse(StationCommand, message.payload)
                self._inbox.put(CommandArrived(command, retained=message.retain))
            else:
                self._drop(message, "unexpected family")
        except PayloadError as exc:
            self._drop(message, str(exc))
        return None

    def _drop(self, message: Inbound, why: str) -> None:
        self.dropped_messages += 1
        log.warning("%s: dropped message on %s: %s", self.station_id, message.topic, why)
