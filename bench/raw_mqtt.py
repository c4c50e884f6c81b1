"""The few MQTT 5 packets a load generator needs to publish at QoS 0, written straight to a
socket: the heartbeats of thousands of stations, prepared (signed and encoded) before a
measured phase and sent in bursts, so that the generator's own Python does not compete for
the cores it measures the server on. The broker and the server see the same bytes paho
would send (the server checks every heartbeat's signature and counts what it stores, which
is what the benchmark compares with what was sent)."""

from __future__ import annotations

import socket
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
    topic: str, payload: bytes, user_properties: Sequence[tuple[str, str]] = ()
) -> bytes:
    """A QoS 0 PUBLISH, with its user properties (MQTT 5 property 0x26)."""
    properties = b"".join(b"\x26" + _text(k) + _text(v) for k, v in user_properties)
    body = _text(topic) + _varint(len(properties)) + properties + payload
    return b"\x30" + _varint(len(body)) + body


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
