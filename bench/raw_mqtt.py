"""The few MQTT 5 packets a load generator needs to publish, written straight to a socket:
the heartbeats of thousands of stations (QoS 0), prepared (signed and encoded) before a
measured phase and sent in bursts, and the access requests and events (QoS 1, the broker's
acknowledgements read and dropped by a thread of their own), so that the generator's own
Python (paho costs 100-200 µs a publish) does not compete for the cores it measures the
server on. The broker and the server see the same bytes paho
would send (the server checks every heartbeat's signature and counts what it stores, which
is what the benchmark compares with what was sent)."""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Sequence

_CONNACK = 0x20


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _text(value: str) -> bytes:
    data = value.encode("utf-8")
    return len(data).to_bytes(2, "big") + data


def publish_packet(
    topic: str,
    payload: bytes,
    user_properties: Sequence[tuple[str, str]] = (),
    *,
    packet_id: int | None = None,
    correlation_data: bytes | None = None,
) -> bytes:
    """A PUBLISH with its user properties (MQTT 5 property 0x26) and correlation data (0x09):
    QoS 0, or QoS 1 with ``packet_id``."""
    properties = b"".join(b"\x26" + _text(k) + _text(v) for k, v in user_properties)
    if correlation_data is not None:
        properties += b"\x09" + len(correlation_data).to_bytes(2, "big") + correlation_data
    head = _text(topic)
    if packet_id is not None:
        head += packet_id.to_bytes(2, "big")
    body = head + _varint(len(properties)) + properties + payload
    return (b"\x30" if packet_id is None else b"\x32") + _varint(len(body)) + body


class QosOnePublisher:
    """Publishes at QoS 1 on a raw connection; the broker's PUBACKs are read and dropped by a
    thread of its own (Mosquitto acknowledges each one as soon as it has routed it)."""

    def __init__(self, port: int, client_id: str) -> None:
        self._sock = connect(port, client_id)
        self._sock.settimeout(None)
        self._ids = itertools.cycle(range(1, 65_536))
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._drain, name=f"{client_id}-acks", daemon=True)
        self._reader.start()

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def send(self, packets: bytes) -> None:
        with self._lock:
            self._sock.sendall(packets)

    def close(self) -> None:
        self._sock.close()
        self._reader.join(5)

    def _drain(self) -> None:
        while True:
            try:
                if not self._sock.recv(65_536):
                    return
            except OSError:
                return


def connect(port: int, client_id: str, host: str = "127.0.0.1") -> socket.socket:
    """An MQTT 5 session without keep-alive (an idle generator between phases is not dead)."""
    sock = socket.create_connection((host, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # Protocol name, level 5, clean start, keep-alive 0, no properties; then the client id.
    body = _text("MQTT") + b"\x05\x02\x00\x00\x00" + _text(client_id)
    sock.sendall(b"\x10" + _varint(len(body)) + body)
    reply = sock.recv(64)
    if len(reply) < 4 or reply[0] != _CONNACK or reply[3] != 0:
        sock.close()
        raise RuntimeError(f"the broker refused the generator: {reply.hex()}")
    return sock
