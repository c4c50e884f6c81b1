"""The buffered socket under paho: small reads served from one large one, nothing lost or
reordered at a chunk's edge."""

from __future__ import annotations

import pytest

from mqttlink.buffered import READ_CHUNK, BufferedSocket


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
