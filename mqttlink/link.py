"""One MQTT 5 connection: TLS that verifies the broker, TCP_NODELAY, resubscribe on every
connect, thread-safe publish, MQTT 5 user properties both ways (signatures travel in them)."""

from __future__ import annotations

import logging
import random
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from mqttlink.buffered import BufferedClient, BufferedSocket
from mqttlink.properties import FastProperties, install
from telemetry.edges import Watch

install()  # paho reads incoming properties with the fast class too

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Inbound:
    topic: str
    payload: bytes
    retain: bool
    response_topic: str | None = None
    correlation_data: bytes | None = None
    user_properties: tuple[tuple[str, str], ...] = ()

    def user_property(self, name: str) -> str | None:
        """The first user property of that name (MQTT 5 allows repeats; we never send any)."""
        return next((value for key, value in self.user_properties if key == name), None)


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True
    user_properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class LinkSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    # TLS: the CA that signed the broker's certificate (PEM file). None: plain MQTT, which the
    # project uses only on loopback where a test needs it.
    ca_file: str | None = None
    keepalive_s: int = 30
    # The first retry after a lost connection waits min + a random share of jitter, and each
    # failed retry doubles that, up to max: after a broker restart, stations come back spread
    # over the jitter window instead of all in the same second.
    reconnect_min_s: float = 1.0
    reconnect_jitter_s: float = 3.0
    reconnect_max_s: float = 60.0


def first_retry_delay(settings: LinkSettings, rng: random.Random) -> float:
    """The wait before the first reconnection attempt: min plus a random share of jitter."""
    return settings.reconnect_min_s + rng.random() * settings.reconnect_jitter_s


@dataclass
class Link:
    """A paho client on its own network thread; callbacks run on that thread and must not block."""

    client_id: str
    settings: LinkSettings
    on_message: Callable[[Inbound], None]
    subscriptions: Sequence[tuple[str, int]] = ()
    will: Will | None = None
    on_connected: Callable[[], None] | None = None
    on_disconnected: Callable[[], None] | None = None
    connected: threading.Event = field(default_factory=threading.Event, init=False)
    _client: mqtt.Client = field(init=False)

    def __post_init__(self) -> None:
        client = BufferedClient(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
        )
        if self.settings.username is not None:
            client.username_pw_set(self.settings.username, self.settings.password)
        if self.settings.ca_file is not None:
            # Verifies the broker's certificate and its host name; TLS 1.2 at least.
            context = ssl.create_default_context(cafile=self.settings.ca_file)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            client.tls_set_context(context)
        if self.will is not None:
            will_properties = None
            if self.will.user_properties:
                will_properties = Properties(PacketTypes.WILLMESSAGE)  # type: ignore[no-untyped-call]
                will_properties.UserProperty = list(self.will.user_properties)
            client.will_set(
                self.will.topic,
                self.will.payload,
                self.will.qos,
                self.will.retain,
                properties=will_properties,
            )
        self._rng = random.Random()
        self.reconnects = 0
        self._broker = Watch(f"broker ({self.client_id})", log)  # lost and regained, once each
        self._stopping = False  # a disconnection we asked for is no loss
        self._client = client
        self._jitter_reconnect()
        client.on_socket_open = self._on_socket_open
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.publish_handler = self._on_publish  # paho's own path for the rest

    def _jitter_reconnect(self) -> None:
        # paho doubles from the minimum we set; a fresh random minimum per disconnection
        # spreads the retries (public API only: reconnect_delay_set also resets the doubling).
        first = first_retry_delay(self.settings, self._rng)
        self._client.reconnect_delay_set(
            min_delay=first,  # type: ignore[arg-type]  # paho annotates int; floats work
            max_delay=max(first, self.settings.reconnect_max_s),  # type: ignore[arg-type]
        )

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting until ``stop``."""
        self._stopping = False
        self._client.connect_async(
            self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s
        )
        self._client.loop_start()

    def network_thread(self) -> threading.Thread | None:
        """paho's network thread while it runs (for CPU accounting)."""
        thread: threading.Thread | None = getattr(self._client, "_thread", None)
        return thread

    def wait_connected(self, timeout_s: float) -> bool:
        return self.connected.wait(timeout_s)

    def stop(self) -> None:
        """Disconnect cleanly (no last will) and stop the network thread."""
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    # -- publishing ------------------------------------------------------------------------
    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        response_topic: str | None = None,
        correlation_data: bytes | None = None,
        expiry_s: int | None = None,
        user_properties: Sequence[tuple[str, str]] = (),
    ) -> mqtt.MQTTMessageInfo:
        properties: Properties | None = None
        if (
            response_topic is not None
            or correlation_data is not None
            or expiry_s is not None
            or user_properties
        ):
            properties = FastProperties(PacketTypes.PUBLISH)
            if user_properties:
                properties.UserProperty = list(user_properties)
            if response_topic is not None:
                properties.ResponseTopic = response_topic
            if correlation_data is not None:
                properties.CorrelationData = correlation_data
            if expiry_s is not None:
                properties.MessageExpiryInterval = expiry_s
        return self._client.publish(topic, payload, qos=qos, retain=retain, properties=properties)

    # -- paho callbacks (network thread) ---------------------------------------------------
    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        # Nagle plus delayed ACK costs ~90 ms per request/response round trip on loopback.
        if isinstance(sock, BufferedSocket):
            sock = sock.raw
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("%s: broker refused connection: %s", self.client_id, reason_code)
            return
        for topic_filter, qos in self.subscriptions:
            client.subscribe(topic_filter, qos)
        self.connected.set()
        self._broker.regained()
        if self.on_connected is not None:
            self.on_connected()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.connected.clear()
        if not self._stopping:
            self._broker.lost(str(reason_code))
        self.reconnects += 1
        self._jitter_reconnect()
        if self.on_disconnected is not None:
            self.on_disconnected()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._on_publish(message.topic, message.payload, message.retain, message.properties)

    def _on_publish(self, topic: str, payload: bytes | bytearray, retain: bool, props: Any) -> None:
        response_topic = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        user = getattr(props, "UserProperty", None) if props is not None else None
        try:
            self.on_message(
                Inbound(
                    topic=topic,
                    payload=bytes(payload),
                    retain=bool(retain),
                    response_topic=response_topic,
                    correlation_data=correlation,
                    user_properties=tuple((str(k), str(v)) for k, v in user or ()),
                )
            )
        except Exception:
            # A bug in a handler must not kill paho's network thread.
            log.exception("%s: message handler failed on %s", self.client_id, topic)
