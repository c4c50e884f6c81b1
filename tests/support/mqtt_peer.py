"""An MQTT client for tests: publishes what it is allowed to, records what it receives."""

from __future__ import annotations

import queue
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from mqttlink import Inbound, Link, LinkSettings


class Peer:
    def __init__(self, link: Link, inbox: queue.SimpleQueue[Inbound]) -> None:
        self.link = link
        self._inbox = inbox

    def publish(self, topic: str, payload: bytes, **kwargs: object) -> None:
        self.link.publish(topic, payload, **kwargs).wait_for_publish(5)  # type: ignore[arg-type]

    def next(self, timeout_s: float = 5.0) -> Inbound:
        return self._inbox.get(timeout=timeout_s)

    def drain(self, quiet_s: float) -> list[Inbound]:
        """Everything received until nothing more arrives for ``quiet_s``."""
        got: list[Inbound] = []
        try:
            while True:
                got.append(self._inbox.get(timeout=quiet_s))
        except queue.Empty:
            return got

    def none_within(self, timeout_s: float) -> bool:
        try:
            self._inbox.get(timeout=timeout_s)
        except queue.Empty:
            return True
        return False


@contextmanager
def mqtt_peer(where: int | LinkSettings, subscriptions: Sequence[str] = ()) -> Iterator[Peer]:
    """A client on a plain broker's port, or with an account (``PrivateBroker.client_settings``)."""
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    link = Link(
        client_id=f"test-{uuid.uuid4().hex[:8]}",
        settings=where if isinstance(where, LinkSettings) else LinkSettings(port=where),
        on_message=inbox.put,
        subscriptions=[(topic, 1) for topic in subscriptions],
    )
    link.start()
    assert link.wait_connected(5), "test peer could not connect"
    try:
        yield Peer(link, inbox)
    finally:
        link.stop()
