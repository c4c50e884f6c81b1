"""paho on the buffered socket against a real Mosquitto: every message, in order, whole,
across chunk edges and packets larger than a chunk."""

from __future__ import annotations

import threading

import pytest

from demo.broker import PrivateBroker
from mqttlink import Inbound, Link, LinkSettings
from mqttlink.buffered import READ_CHUNK, BufferedSocket
from tests.support.waiting import wait_for

pytestmark = pytest.mark.parametrize("broker", ["open"], indirect=True)


def test_a_burst_of_small_and_large_messages_arrives_whole_and_in_order(
    broker: PrivateBroker,
) -> None:
    received: list[bytes] = []
    probed = threading.Event()

    def on_message(message: Inbound) -> None:
        if message.topic == "burst/probe":
            probed.set()
        else:
            received.append(message.payload)  # paho's one network thread: no lock needed

    settings = LinkSettings(port=broker.port)
    reader = Link("buffered-reader", settings, on_message, subscriptions=[("burst/#", 0)])
    writer = Link("buffered-writer", settings, lambda _: None)
    reader.start()
    writer.start()
    try:
        assert reader.wait_connected(10)
        assert writer.wait_connected(10)
        wait_for(lambda: reader._client.socket() is not None, what="the reader's socket")
        assert isinstance(reader._client.socket(), BufferedSocket)
        sizes = [n % 700 for n in range(3_000)] + [READ_CHUNK + 1_000, 3 * READ_CHUNK]
        sent = [bytes([n % 251]) * size + n.to_bytes(4, "big") for n, size in enumerate(sizes)]
        # Subscribed before the burst: a probe comes back once the subscription holds.
        wait_for(
            lambda: writer.publish("burst/probe", b"", qos=1) and probed.wait(0.2),
            timeout_s=10,
            what="the subscription",
        )
        for payload in sent:
            writer.publish("burst/data", payload, qos=1)
        wait_for(lambda: len(received) >= len(sent), timeout_s=30, what="every message")
        assert received == sent
    finally:
        writer.stop()
        reader.stop()
