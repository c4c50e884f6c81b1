"""The buffered socket under paho: small reads served from one large one, nothing lost or
reordered at a chunk's edge; PUBLISH packets read past paho, and anything odd left to paho."""

from __future__ import annotations

import pytest
from paho.mqtt.client import MQTTv5
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from mqttlink.buffered import READ_CHUNK, BufferedClient, BufferedSocket


class ScriptedSocket:
    """A non-blocking socket whose ``recv`` returns the given chunks, then "nothing yet"."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)
        self.asked: list[int] = []

    def recv(self, bufsize: int) -> bytes:
        self.asked.append(bufsize)
        if not self.chunks:
            raise BlockingIOError
        return self.chunks.pop(0)

    def fileno(self) -> int:
        return 42

    def close(self) -> None:  # paho closes its socket when the client goes
        self.chunks.clear()


def test_small_reads_come_from_one_large_read() -> None:
    raw = ScriptedSocket(b"\x30\x05hello\x30\x03abc")
    sock = BufferedSocket(raw)
    assert [sock.recv(1), sock.recv(1), sock.recv(5)] == [b"\x30", b"\x05", b"hello"]
    assert sock.pending() == sock.buffered() == 5
    assert [sock.recv(1), sock.recv(1), sock.recv(3)] == [b"\x30", b"\x03", b"abc"]
    assert raw.asked == [READ_CHUNK]  # one system call for two packets
    with pytest.raises(BlockingIOError):
        sock.recv(1)


def test_a_read_larger_than_the_buffer_returns_what_there_is() -> None:
    raw = ScriptedSocket(b"abc", b"defgh")
    sock = BufferedSocket(raw)
    assert sock.recv(2) == b"ab"
    assert sock.recv(10) == b"c"  # a short read, as recv may: paho asks again for the rest
    assert sock.recv(10) == b"defgh"  # fits: handed over as it came, nothing buffered
    assert sock.buffered() == 0


def test_the_end_of_the_stream_is_passed_on() -> None:
    sock = BufferedSocket(ScriptedSocket(b""))
    assert sock.recv(1) == b""  # paho: connection lost


def test_everything_else_is_the_socket_itself() -> None:
    sock = BufferedSocket(ScriptedSocket())
    assert sock.fileno() == 42  # select() waits on the real socket
    assert sock.pending() == 0  # a plain socket holds nothing of its own


def _publish(topic: bytes, payload: bytes, *, qos: int = 0, properties: bytes = b"\x00") -> bytes:
    """A PUBLISH packet (MQTT 5), its fields as given: the tests below break them on purpose."""
    body = len(topic).to_bytes(2, "big") + topic
    body += b"\x00\x07" if qos else b""
    body += properties + payload
    return bytes([0x30 | qos << 1]) + bytes([len(body)]) + body


def _client_reading(data: bytes) -> tuple[BufferedClient, BufferedSocket, list[tuple[str, bytes]]]:
    client = BufferedClient(CallbackAPIVersion.VERSION2, protocol=MQTTv5)
    sock = BufferedSocket(ScriptedSocket())
    sock._buffer += data
    client._sock = sock
    got: list[tuple[str, bytes]] = []
    client.publish_handler = lambda topic, payload, retain, props: got.append((topic, payload))
    return client, sock, got


def test_a_whole_publish_is_handed_over_without_paho() -> None:
    client, sock, got = _client_reading(_publish(b"ws/a/heartbeat", b"{}"))
    assert client._read_publish() == MQTTErrorCode.MQTT_ERR_SUCCESS
    assert got == [("ws/a/heartbeat", b"{}")]
    assert sock.buffered() == 0


@pytest.mark.parametrize(
    "packet",
    [
        _publish(b"t", b"x")[:-1],  # not whole yet
        b"\x30",  # no length yet
        b"\x30\xff\xff\xff\xff\x01",  # a remaining length of five bytes: malformed
        b"\x20\x03\x00\x00\x00",  # not a PUBLISH (CONNACK)
        _publish(b"t", b"x", qos=2),  # QoS 2: paho keeps its state
        b"\x30\x04\x00\x09ab",  # a topic longer than the packet
        _publish(b"\xff\xfe", b"x"),  # a topic that is not UTF-8
        _publish(b"t", b"x", properties=b"\x05\x26\x00"),  # properties cut short
        _publish(b"t", b"x", properties=b"\x03\x23\x00\x01"),  # a topic alias
    ],
)
def test_anything_odd_is_left_whole_for_paho(packet: bytes) -> None:
    client, sock, got = _client_reading(packet)
    assert client._read_publish() is None
    assert got == []
    assert bytes(sock._buffer) == packet  # untouched: paho reads it (and refuses it) as before
