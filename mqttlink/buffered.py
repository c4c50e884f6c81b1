"""Reading the broker's stream in large chunks, not one system call per field.

paho reads every packet with at least three ``recv`` calls (its type byte, each byte of its
length, then its body) and goes through ``select`` before each packet: four or five system
calls, each letting go of the GIL and waiting to get it back, for a 300-byte heartbeat. Here
the socket is wrapped so that one ``recv`` of up to 64 KiB fills a buffer the small reads are
served from, and the client reads every whole packet in the buffer before it selects again.

paho supports this shape: ``pending()`` is how it asks an SSL socket for bytes it holds
already (it then skips the wait in ``select``), and it accepts socket-like objects (its own
WebSocket wrapper is one). What is overridden is ``_create_socket``, a private method of
paho 2.x; the lock file pins paho, and ``tests/unit/mqttlink/test_buffered.py`` checks the
override still takes effect.

PUBLISH packets whole in the buffer behind the one paho read are also read here, not by paho
(``publish_handler``): paho spends about 50 µs of Python on each (a ``recv`` call per header
byte, a message object, its log line, its callback lookup under two locks), a fifth of a core
at the national peak, all of it holding the GIL that the riders' decisions need. The fast
path reads the same fields (topic, packet id, properties with ``FastProperties``, payload)
and acknowledges a QoS 1 message after its handler returns, as paho does; anything else (QoS
2, a packet not whole yet, one that does not parse, a topic alias) is left to paho as before.
paho's filtered callbacks (``message_callback_add``) are not consulted: ``Link`` uses none.
``tests/integration/test_buffered_link.py`` checks both paths hand over the same messages
from a real Mosquitto, and that every QoS 1 message is acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from mqttlink.properties import FastProperties, encode_vbi

READ_CHUNK = 65_536
_PUBLISH = 3  # packet type, the high nibble of the first byte
_MAX_LENGTH_BYTES = 4  # a remaining length is at most four bytes (MQTT 5, 2.1.4)

# What a ``publish_handler`` gets: topic, payload, retain flag, properties.
PublishHandler = Callable[[str, bytes, bool, Properties], None]


class BufferedSocket:
    """A connected socket (plain or TLS) whose reads come from a buffer it refills with one
    large ``recv``; everything else goes to the socket itself."""

    def __init__(self, sock: Any) -> None:
        self.raw = sock
        self._buffer = bytearray()

    def recv(self, bufsize: int) -> bytes:
        if not self._buffer:
            data: bytes = self.raw.recv(READ_CHUNK)  # raises BlockingIOError when none
            if len(data) <= bufsize:
                return data  # b"" included: the broker closed the connection
            self._buffer += data
        taken = bytes(self._buffer[:bufsize])
        del self._buffer[:bufsize]  # cheap: a bytearray drops its head without copying
        return taken

    def take_packet(self, packet_type: int) -> tuple[int, bytes] | None:
        """The packet at the head of the buffer, if it is whole and of this type: its first
        byte and its body, taken out of the buffer. None (nothing taken) otherwise."""
        buffer = self._buffer
        if not buffer or buffer[0] >> 4 != packet_type:
            return None
        length, multiplier, at = 0, 1, 1
        while True:
            if at >= len(buffer) or at > _MAX_LENGTH_BYTES:
                return None  # not all here yet, or malformed: paho's to read (and refuse)
            digit = buffer[at]
            length += (digit & 127) * multiplier
            multiplier *= 128
            at += 1
            if not digit & 128:
                break
        end = at + length
        if end > len(buffer):
            return None
        first, body = buffer[0], bytes(buffer[at:end])
        del buffer[:end]
        return first, body

    def put_back(self, first: int, body: bytes) -> None:
        """Undo ``take_packet``: the packet goes back to the head of the buffer."""
        self._buffer[:0] = bytes([first]) + encode_vbi(len(body)) + body

    def buffered(self) -> int:
        """Bytes read from the socket and not yet handed out."""
        return len(self._buffer)

    def pending(self) -> int:
        """What can be read without waiting (paho then does not wait in ``select``)."""
        held: int = self.raw.pending() if hasattr(self.raw, "pending") else 0
        return len(self._buffer) + held

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class BufferedClient(mqtt.Client):
    """paho's client on a ``BufferedSocket``, reading all the whole packets it holds at once;
    PUBLISH packets go to ``publish_handler`` (when set) without paho's message objects."""

    publish_handler: PublishHandler | None = None

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        # Each round consumes buffered bytes: a partial packet at the end reads the socket,
        # finds nothing yet (paho's "again") and leaves the buffer empty, ending the loop.
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._buffered() > 0:
            handled = self._read_publish()
            rc = super().loop_read(1) if handled is None else handled
        return rc

    def _read_publish(self) -> MQTTErrorCode | None:
        """Hand a whole PUBLISH at the head of the buffer to ``publish_handler`` and
        acknowledge it (QoS 1); None when paho is to read what comes next."""
        sock = self._sock
        handler = self.publish_handler
        if (
            handler is None
            or not isinstance(sock, BufferedSocket)
            or self._in_packet["command"] != 0  # paho is in the middle of a packet
            or self._manual_ack
            or self._protocol != mqtt.MQTTv5
        ):
            return None
        taken = sock.take_packet(_PUBLISH)
        if taken is None:
            return None
        first, body = taken
        qos = (first >> 1) & 3
        try:
            if qos > 1:
                raise ValueError("QoS 2: paho keeps its state")
            end = 2 + int.from_bytes(body[:2], "big")
            topic = body[2:end].decode("utf-8")
            mid = 0
            if qos:
                mid, end = int.from_bytes(body[end : end + 2], "big"), end + 2
            if len(body) < end:
                raise ValueError("shorter than its topic says")
            properties, used = FastProperties(PacketTypes.PUBLISH).unpack(body[end:])
            if getattr(properties, "TopicAlias", None) is not None:
                raise ValueError("a topic alias: paho keeps the aliases")
        except Exception:  # anything odd is paho's to read (and refuse)
            sock.put_back(first, body)
            return None
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()  # as paho keeps it: keepalive
        handler(topic, body[end + used :], bool(first & 1), properties)
        return self._send_puback(mid) if qos == 1 else MQTTErrorCode.MQTT_ERR_SUCCESS

    def _buffered(self) -> int:
        sock = self._sock
        return sock.buffered() if isinstance(sock, BufferedSocket) else 0
