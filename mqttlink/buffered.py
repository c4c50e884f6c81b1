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
"""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

READ_CHUNK = 65_536


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
    """paho's client on a ``BufferedSocket``, reading all the whole packets it holds at once."""

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        # Each round consumes buffered bytes: a partial packet at the end reads the socket,
        # finds nothing yet (paho's "again") and leaves the buffer empty, ending the loop.
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._buffered() > 0:
            rc = super().loop_read(1)
        return rc

    def _buffered(self) -> int:
        sock = self._sock
        return sock.buffered() if isinstance(sock, BufferedSocket) else 0
