"""paho on the buffered socket against a real Mosquitto: every message, in order, whole,
across chunk edges and packets larger than a chunk."""

from __future__ import annotations

import threading
from functools import partial

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


CHUNK = 15  # messages published together: 5 of each QoS, 10 in flight at most


def _all_have(got: dict[str, list[Inbound]], count: int) -> bool:
    return all(len(messages) >= count for messages in got.values())


def test_publishes_read_past_paho_arrive_as_paho_reads_them(broker: PrivateBroker) -> None:
    """The same messages to a reader on the fast path and to one on paho's own: the same
    topics, payloads, flags and properties, in the same order at QoS 0 and 1; QoS 1
    acknowledged (more than the broker's 20 in flight get through, in chunks), QoS 2
    (paho's) and a retained one included."""
    settings = LinkSettings(port=broker.port)
    got: dict[str, list[Inbound]] = {"fast": [], "paho": []}
    fast_path: list[str] = []
    readers: dict[str, Link] = {}
    for name in got:
        readers[name] = Link(
            f"reader-{name}",
            settings,
            got[name].append,
            subscriptions=[("same/q0/#", 0), ("same/q1/#", 1), ("same/q2/#", 2)],
        )
    readers["paho"]._client.publish_handler = None  # type: ignore[attr-defined]
    fast_handler = readers["fast"]._client.publish_handler  # type: ignore[attr-defined]

    def counted(topic: str, *args: object) -> None:
        fast_path.append(topic)
        fast_handler(topic, *args)

    readers["fast"]._client.publish_handler = counted  # type: ignore[attr-defined]
    acked: list[int] = []  # the fast reader's PUBACKs, whichever path read the message
    send_puback = readers["fast"]._client._send_puback

    def counted_ack(mid: int) -> object:
        acked.append(mid)
        return send_puback(mid)

    readers["fast"]._client._send_puback = counted_ack  # type: ignore[method-assign,assignment]
    writer = Link("same-writer", settings, lambda _: None)
    writer.start()
    try:
        assert writer.wait_connected(10)
        writer.publish("same/q1/retained", b"kept", qos=1, retain=True).wait_for_publish(10)
        for link in readers.values():
            link.start()
        assert all(link.wait_connected(10) for link in readers.values())
        wait_for(
            lambda: all(any(m.retain for m in messages) for messages in got.values()),
            timeout_s=10,
            what="the retained message, to each reader",
        )
        sent = 0
        for n in range(300):
            if n and n % CHUNK == 0:
                # Mosquitto 2.0 sends a new QoS 1 message at once when a slot of the 20 in
                # flight is free (db__ready_for_flight counts free slots, not the queue),
                # ahead of older ones still queued for that reader: past 20,
                # two readers acknowledging at their own pace may get them in different
                # orders. So each chunk (10 of QoS 1 and 2) is delivered before the next.
                wait_for(
                    partial(_all_have, got, sent + 1),
                    timeout_s=20,
                    what=f"the first {sent} messages, to each reader",
                )
            qos = n % 3
            writer.publish(
                f"same/q{qos}/站点-{n}",
                bytes([n % 256]) * (n % 50),
                qos=qos,
                response_topic=f"reply/{n}" if n % 5 == 0 else None,
                correlation_data=n.to_bytes(2, "big") if n % 4 == 0 else None,
                user_properties=[("ws-sig", f"k{n}.sig"), ("x", "ü")] if n % 2 else (),
            )
            sent += 1
        wait_for(
            lambda: all(len(messages) >= sent + 1 for messages in got.values()),
            timeout_s=20,
            what="every message, to each reader",
        )
        assert sorted(got["fast"], key=repr) == sorted(got["paho"], key=repr)
        for level in ("q0", "q1"):  # in order within each (QoS 2's handshake may reorder)
            assert [m for m in got["fast"] if f"/{level}/" in m.topic] == [
                m for m in got["paho"] if f"/{level}/" in m.topic
            ]
        assert len(got["fast"]) == sent + 1
        assert len(acked) == sum(1 for m in got["fast"] if "/q1/" in m.topic)
        # Past paho: QoS 0 and 1 packets behind another in the same read (the first packet of
        # each read is paho's, and so is QoS 2).
        assert len(fast_path) >= 20
        assert not any(topic.startswith("same/q2/") for topic in fast_path)
    finally:
        writer.stop()
        for link in readers.values():
            link.stop()
