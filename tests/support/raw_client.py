"""A bare paho MQTT 5 client for broker tests: it sees what ``mqttlink`` hides (CONNACK,
SUBACK and PUBACK reason codes, assigned client ids, disconnections) and never reconnects."""

from __future__ import annotations

import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from mqttlink import LinkSettings


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool


@dataclass
class RawClient:
    port: int
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None  # None: plain MQTT
    client_id: str = field(default_factory=lambda: f"raw-{uuid.uuid4().hex[:8]}")
    server_hostname: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self.connack: ReasonCode | None = None
        # Set by Mosquitto 2.0 only when the client asked for no id, even where
        # use_username_as_clientid replaced the one it asked for.
        self.assigned_client_id: str | None = None
        self.disconnected = threading.Event()
        self.received: list[Received] = []
        self._acks: dict[int, list[ReasonCode]] = {}
        self._answered = threading.Condition()  # CONNACK, SUBACK, PUBACK or disconnection
        self._lock = threading.Lock()
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.ca_file is not None:
            client.tls_set_context(ssl.create_default_context(cafile=self.ca_file))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        self._client = client

    # -- connecting ------------------------------------------------------------------------
    def connect(self, timeout_s: float = 5.0) -> ReasonCode | None:
        """CONNACK's reason code, or None if the connection ended without one."""
        self._client.connect(self.server_hostname, self.port, keepalive=30)
        self._client.loop_start()
        self._wait(
            lambda: self.connack is not None or self.disconnected.is_set(),
            timeout_s,
            "CONNACK or disconnection",
        )
        return self.connack

    @property
    def is_connected(self) -> bool:
        return self._client.is_connected()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    # -- subscribing and publishing (wait for the broker's answer) -------------------------
    def subscribe(self, *filters: str, qos: int = 1) -> list[ReasonCode]:
        _, mid = self._client.subscribe([(topic_filter, qos) for topic_filter in filters])
        return self._wait_ack(mid)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> ReasonCode:
        """QoS 1; the PUBACK's reason code."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        return self._wait_ack(info.mid)[0]

    def topics_received(self) -> set[str]:
        with self._lock:
            return {message.topic for message in self.received}

    def payloads_received(self) -> set[bytes]:
        with self._lock:
            return {message.payload for message in self.received}

    def _wait_ack(self, mid: int) -> list[ReasonCode]:
        self._wait(lambda: mid in self._acks, 5.0, f"the answer to packet {mid}")
        return self._acks[mid]

    def _wait(self, answered: Callable[[], bool], timeout_s: float, what: str) -> None:
        with self._answered:
            if not self._answered.wait_for(answered, timeout_s):
                raise AssertionError(f"{self.username}: no {what} within {timeout_s} s")

    def _note(self, change: Callable[[], object]) -> None:
        with self._answered:
            change()
            self._answered.notify_all()

    # -- paho callbacks --------------------------------------------------------------------
    def _on_connect(
        self, client: Any, userdata: Any, flags: Any, rc: ReasonCode, props: Properties | None
    ) -> None:
        self.assigned_client_id = getattr(props, "AssignedClientIdentifier", None)
        self._note(lambda: setattr(self, "connack", rc))

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        self._note(self.disconnected.set)

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append(Received(message.topic, message.payload, bool(message.retain)))

    def _on_subscribe(
        self, client: Any, userdata: Any, mid: int, codes: list[ReasonCode], props: Any
    ) -> None:
        self._note(lambda: self._acks.__setitem__(mid, list(codes)))

    def _on_publish(
        self, client: Any, userdata: Any, mid: int, code: ReasonCode, props: Any
    ) -> None:
        self._note(lambda: self._acks.__setitem__(mid, [code]))


def raw_client(settings: LinkSettings) -> RawClient:
    """A raw client for what ``settings`` names (port, account, CA), not yet connected."""
    return RawClient(
        port=settings.port,
        username=settings.username,
        password=settings.password,
        ca_file=settings.ca_file,
    )


def admits(settings: LinkSettings, timeout_s: float = 5.0) -> bool:
    """Whether the broker accepts a connection with these credentials now (then closed)."""
    client = raw_client(settings)
    try:
        return client.connect(timeout_s) == 0
    finally:
        client.close()
