"""The agent's Transport over MQTT 5: requests with response topic and correlation data,
events at QoS 1, a retained birth message, and a last will (or, on a clean stop, a goodbye)
that marks the station offline. Everything sent is signed with the station's key; everything
received is checked against the server's pinned control keys before it becomes an ``inbox``
value: unsigned, mis-signed, misaddressed or invalid messages are dropped, counted and logged
here and never reach the loop."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime

from mqttlink import Inbound, Link, LinkSettings, Will
from protocol import topics
from protocol.payloads import (
    MAX_PAYLOAD_BYTES,
    AccessDecision,
    AccessRequest,
    DenylistPage,
    EventsAck,
    Heartbeat,
    PayloadError,
    StationCommand,
    StationConfig,
    StationState,
    TrustKeys,
    dump,
    parse,
)
from protocol.signing import SignatureCheck, sign, verify, verify_trust
from protocol.topics import Family, TrustTopic
from station_agent import __version__
from station_agent.config import AgentSettings
from station_agent.inbox import (
    AckArrived,
    CommandArrived,
    ConfigArrived,
    ConfigDropped,
    DecisionArrived,
    Inbox,
    LinkChanged,
    TrustArrived,
)
from station_agent.ports import Clock
from station_agent.trust import PinnedKeys

log = logging.getLogger(__name__)

DECISION_EXPIRY_S = 5  # a request older than this is useless to the rider at the door
_FROM_SERVER = frozenset(
    {Family.ACCESS_DECISION, Family.CONFIG, Family.EVENTS_ACK, Family.COMMANDS}
)


class MqttTransport:
    def __init__(
        self,
        settings: AgentSettings,
        inbox: Inbox,
        *,
        session_id: str,
        clock: Clock,
        pinned: PinnedKeys,
    ) -> None:
        self.station_id = settings.station_id
        self.session_id = session_id
        self.dropped: Counter[str] = Counter()
        self._inbox = inbox
        self._pinned = pinned
        self._key = settings.signing_key
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
                password=(
                    settings.broker_password.get_secret_value()
                    if settings.broker_password is not None
                    else None
                ),
                ca_file=str(settings.broker_ca_file) if settings.broker_ca_file else None,
            ),
            on_message=self._on_message,
            subscriptions=[
                (self._decision_topic, 1),
                (topics.station_topic(self.station_id, Family.CONFIG), 1),
                (topics.station_topic(self.station_id, Family.EVENTS_ACK), 1),
                (topics.station_topic(self.station_id, Family.COMMANDS), 1),
                (topics.all_trust_topics(), 1),
            ],
            will=self._will(),
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

    @property
    def dropped_messages(self) -> int:
        return sum(self.dropped.values())

    def _signed(self, family: Family, payload: bytes) -> tuple[tuple[str, str], ...]:
        return sign([self._key], family, self.station_id, payload)

    def request_access(self, request: AccessRequest) -> None:
        payload = dump(request)
        self._link.publish(
            topics.station_topic(self.station_id, Family.ACCESS_REQUEST),
            payload,
            qos=1,
            response_topic=self._decision_topic,
            correlation_data=request.request_id.encode(),
            expiry_s=DECISION_EXPIRY_S,
            user_properties=self._signed(Family.ACCESS_REQUEST, payload),
        )

    def publish_event(self, payload: bytes) -> None:
        self._link.publish(
            self._events_topic,
            payload,
            qos=1,
            user_properties=self._signed(Family.EVENTS, payload),
        )

    def publish_heartbeat(self, heartbeat: Heartbeat) -> None:
        payload = dump(heartbeat)
        self._link.publish(
            self._heartbeat_topic,
            payload,
            qos=0,
            user_properties=self._signed(Family.HEARTBEAT, payload),
        )

    def publish_state(self, *, online: bool) -> None:
        payload = dump(self._state(online=online))
        info = self._link.publish(
            self._state_topic,
            payload,
            qos=1,
            retain=True,
            user_properties=self._signed(Family.STATE, payload),
        )
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

    def _will(self) -> Will:
        """The broker publishes this if the station vanishes: signed now, like everything."""
        payload = dump(self._state(online=False))
        return Will(self._state_topic, payload, user_properties=self._signed(Family.STATE, payload))

    def _on_connected(self) -> None:
        self.publish_state(online=True)
        self._inbox.put(LinkChanged(connected=True))

    def _on_message(self, message: Inbound) -> None:
        page = topics.parse_trust(message.topic)
        if page is not None:
            return self._on_trust(page, message)
        parsed = topics.parse(message.topic)
        if parsed is None or parsed.station_id != self.station_id:
            return self._drop(message, "misaddressed", "not addressed to this station")
        if parsed.family not in _FROM_SERVER:
            return self._drop(message, "topic", "unexpected family")
        if len(message.payload) > MAX_PAYLOAD_BYTES:
            return self._drop(message, "too_large", f"{len(message.payload)} bytes")
        check = verify(
            message.user_properties,
            keys=self._pinned.raw,
            family=parsed.family,
            station_id=self.station_id,
            payload=message.payload,
        )
        if check is not SignatureCheck.OK:
            # Only the server can change what this door does (design notes §3).
            if parsed.family is Family.CONFIG:
                self._inbox.put(ConfigDropped("config", check.value))
            return self._drop(message, check.value, "not signed by the server")
        try:
            if parsed.family is Family.ACCESS_DECISION:
                if message.retain:
                    return self._drop(message, "retained", "retained decision")
                self._inbox.put(DecisionArrived(parse(AccessDecision, message.payload)))
            elif parsed.family is Family.CONFIG:
                self._inbox.put(ConfigArrived(parse(StationConfig, message.payload)))
            elif parsed.family is Family.EVENTS_ACK:
                self._inbox.put(AckArrived(parse(EventsAck, message.payload)))
            elif parsed.family is Family.COMMANDS:
                command = parse(StationCommand, message.payload)
                self._inbox.put(CommandArrived(command, retained=message.retain))
        except PayloadError as exc:
            if parsed.family is Family.CONFIG:
                self._inbox.put(ConfigDropped("config", "invalid"))
            self._drop(message, "invalid", str(exc))
        return None

    def _on_trust(self, page: TrustTopic, message: Inbound) -> None:
        """A trust page: signed by a pinned control key for this very page, valid, and about
        the bucket its topic names; anything else is dropped and reported to the loop, which
        says so in its heartbeat."""
        why = self._trust_refusal(page, message)
        if why is None:
            try:
                if page.bucket is None:
                    self._inbox.put(TrustArrived(parse(TrustKeys, message.payload)))
                    return
                denylist = parse(DenylistPage, message.payload)
                if denylist.bucket == page.bucket:
                    self._inbox.put(TrustArrived(denylist))
                    return
                why = "wrong_bucket"
            except PayloadError as exc:
                log.warning("%s: invalid trust page %s: %s", self.station_id, page.name, exc)
                why = "invalid"
        self._inbox.put(ConfigDropped(page.name, why))
        self._drop(message, why, f"trust page {page.name}")

    def _trust_refusal(self, page: TrustTopic, message: Inbound) -> str | None:
        if len(message.payload) > MAX_PAYLOAD_BYTES:
            return "too_large"
        check = verify_trust(
            message.user_properties, keys=self._pinned.raw, page=page, payload=message.payload
        )
        return None if check is SignatureCheck.OK else check.value

    def _drop(self, message: Inbound, counter: str, why: str) -> None:
        self.dropped[counter] += 1
        log.warning("%s: dropped message on %s: %s", self.station_id, message.topic, why)
