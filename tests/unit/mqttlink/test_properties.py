"""``FastProperties`` reads and writes exactly what paho's ``Properties`` does, refuses what
it refuses, and is what paho decodes incoming packets with once ``mqttlink`` is imported."""

from __future__ import annotations

import paho.mqtt._packet as paho_packet
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.exception import MalformedPacket, MQTTException
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import mqttlink  # noqa: F401 - installs the fast class
from mqttlink.properties import FastProperties

_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufeff"), max_size=40
)


def _both(**values: object) -> tuple[Properties, FastProperties]:
    slow = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    fast = FastProperties(PacketTypes.PUBLISH)
    for name, value in values.items():
        setattr(slow, name, value)
        setattr(fast, name, value)
    return slow, fast


@given(
    user=st.lists(st.tuples(_TEXT, _TEXT), max_size=4),
    correlation=st.binary(max_size=40) | st.none(),
    topic=_TEXT | st.none(),
    expiry=st.integers(0, 2**32 - 1) | st.none(),
)
def test_packs_and_unpacks_like_paho(
    user: list[tuple[str, str]], correlation: bytes | None, topic: str | None, expiry: int | None
) -> None:
    values: dict[str, object] = {"UserProperty": user} if user else {}
    if correlation is not None:
        values["CorrelationData"] = correlation
    if topic is not None:
        values["ResponseTopic"] = topic
    if expiry is not None:
        values["MessageExpiryInterval"] = expiry
    slow, fast = _both(**values)
    packed = slow.pack()
    assert fast.pack() == packed
    back_slow = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    back_fast = FastProperties(PacketTypes.PUBLISH)
    assert back_fast.unpack(packed)[1] == back_slow.unpack(packed)[1]  # type: ignore[no-untyped-call]
    assert back_fast.json() == back_slow.json()  # type: ignore[no-untyped-call]
    assert back_fast.isEmpty() == back_slow.isEmpty()  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    "raw",
    [
        bytes([5, 38, 0, 9, 0x61, 0x62]),  # a user property longer than what is left
        bytes([3, 38, 0, 1]),  # a string length with no room for the string
        bytes([7, 38, 0, 1, 0, 0, 1, 0x61]),  # a NUL in a key
        bytes([4, 2, 0, 0, 1]),  # a four-byte integer cut short
        bytes([2, 99, 0]),  # no such property
        bytes([0x80, 0x80, 0x80, 0x80, 0x01]),  # a length of five bytes
    ],
)
def test_refuses_what_paho_refuses(raw: bytes) -> None:
    errors = paho_packet.DECODE_ERRORS  # what paho turns into a malformed-packet error
    with pytest.raises(errors):
        Properties(PacketTypes.PUBLISH).unpack(raw)  # type: ignore[no-untyped-call]
    with pytest.raises(errors):
        FastProperties(PacketTypes.PUBLISH).unpack(raw)


def test_a_repeated_single_property_is_malformed() -> None:
    raw = bytes([10, 2, 0, 0, 0, 5, 2, 0, 0, 0, 6])  # message expiry twice
    with pytest.raises(MQTTException):
        FastProperties(PacketTypes.PUBLISH).unpack(raw)


def test_refuses_names_and_packet_types_as_paho_does() -> None:
    fast = FastProperties(PacketTypes.PUBLISH)
    with pytest.raises(MQTTException):
        fast.NoSuchThing = 1
    with pytest.raises(MQTTException):
        fast.SessionExpiryInterval = 5  # a CONNECT property
    with pytest.raises(MQTTException):
        fast.TopicAlias = 0  # out of range: paho's own check


def test_paho_decodes_incoming_publishes_with_it() -> None:
    assert paho_packet.Properties is FastProperties  # type: ignore[attr-defined]
    with pytest.raises(MalformedPacket):
        FastProperties(PacketTypes.PUBLISH).unpack(bytes([3, 9, 0, 5]))
