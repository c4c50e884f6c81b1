"""A plain MQTT client for tests: publishes anything, records what it receives."""

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

    def none_within(self, timeout_s: float) -> bool:
        try:
            self._inbox.get(timeout=timeout_s)
        except queue.Empty:
            return True
        return False


@contextmanager
def mqtt_peer(port: int, subscriptions: Sequence[str] = ()) -> Iterator[Peer]:
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    link = Link(
        client_id=f"test-{uuid.uuid4().hex[:8]}",
        settings=LinkSettings(port=port),
        on_message=inbox.put,
        subscriptions=[(topic, 1) for topic in subscriptions],
    )
    link.start()
    assert link.wait_connected(5), "test peer could not connect"
    try:
        yield Peer(link, inbox)
    finally:
        link.stop()
