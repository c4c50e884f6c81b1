"""paho's MQTT 5 ``Properties`` with the same behaviour at a fraction of the cost.

paho looks every property name up by scanning its table and rewriting each name
(``str.replace``) on every access, and checks strings one character at a time: about 34 µs to
read the properties of one incoming message and as much to write those of one outgoing
message, measured here. With a station's signature in every message, that was a large share
of the server's CPU per heartbeat (docs/benchmarks.md). ``FastProperties`` keeps paho's
class (so paho, and everything typed against it, takes it as is) and replaces the lookups with
dictionaries built once and the string check with one regular expression. ``install()``
makes paho decode incoming packets with it; ``Link`` sends with it.
``tests/unit/mqttlink/test_properties.py`` checks both against paho's own on the same bytes.
"""

from __future__ import annotations

import re
import struct
from typing import Any

import paho.mqtt._packet as paho_packet
from paho.mqtt.exception import MalformedPacket, MQTTException
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

_PAHO = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]  # its tables, read once
_NAME_OF: dict[int, str] = {ident: name for name, ident in _PAHO.names.items()}
_IDENT_OF: dict[str, int] = {name.replace(" ", ""): ident for name, ident in _PAHO.names.items()}
_ATTR_OF: dict[int, str] = {ident: name for name, ident in _IDENT_OF.items()}
_TYPE_OF: dict[int, int] = {ident: spec[0] for ident, spec in _PAHO.properties.items()}
_PACKETS_OF: dict[int, frozenset[int]] = {
    ident: frozenset(spec[1]) for ident, spec in _PAHO.properties.items()
}
_ORDER = [(_IDENT_OF[name.replace(" ", "")], name.replace(" ", "")) for name in _PAHO.names]
_MULTIPLE = frozenset({11, 38})
_PRIVATE = frozenset({"packetType", "types", "names", "properties"})
# Values paho range-checks on assignment: those go through paho's own __setattr__.
_CHECKED = frozenset(
    {
        "ReceiveMaximum",
        "TopicAlias",
        "TopicAliasMaximum",
        "MaximumPacketSize",
        "SubscriptionIdentifier",
        "RequestResponseInformation",
        "RequestProblemInformation",
        "PayloadFormatIndicator",
    }
)
BYTE, TWO, FOUR, VBI, BINARY, UTF8, PAIR = range(7)  # paho's type numbers (its ``types``)
_NOT_MQTT_TEXT = re.compile("[\x00\ud800-\udfff\ufeff]")  # MQTT-1.5.4-1/2/3


def encode_vbi(value: int) -> bytes:
    """An MQTT variable byte integer (0 <= value <= 268,435,455)."""
    if not 0 <= value <= 268_435_455:
        raise ValueError(f"Value {value!r} must be in range 0-268435455")
    out = bytearray()
    while True:
        digit, value = value % 128, value // 128
        out.append(digit | 0x80 if value else digit)
        if not value:
            return bytes(out)


def _decode_vbi(buffer: Any) -> tuple[int, int]:
    """Value and length of the variable byte integer at the start of ``buffer``; at most
    four bytes (MQTT 5, 1.5.5), else the packet is malformed."""
    value, multiplier = 0, 1
    for used in range(4):
        if used >= len(buffer):
            raise MalformedPacket("Not enough data to decode Variable Byte Integer")
        digit = buffer[used]
        value += (digit & 127) * multiplier
        if not digit & 128:
            return value, used + 1
        multiplier *= 128
    raise MalformedPacket("Variable Byte Integer is more than four bytes long")


def _read_utf(buffer: bytes, maxlen: int) -> tuple[str, int]:
    if maxlen < 2:
        raise MalformedPacket("Not enough data to read string length")
    length = (buffer[0] << 8) | buffer[1]
    if length > maxlen - 2:
        raise MalformedPacket("Length delimited string too long")
    text = bytes(buffer[2 : 2 + length]).decode("utf-8")
    if _NOT_MQTT_TEXT.search(text):
        raise MalformedPacket("[MQTT-1.5.4] a character not allowed in MQTT text")
    return text, length + 2


def _utf(text: str | bytes) -> bytes:
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    return struct.pack("!H", len(data)) + data


class FastProperties(Properties):
    # paho's methods not overridden here read these: shared, never changed.
    types = _PAHO.types
    names = _PAHO.names
    properties = _PAHO.properties

    def __init__(self, packetType: int) -> None:  # noqa: N803 - paho's name
        object.__setattr__(self, "packetType", packetType)

    def allowsMultiple(self, compressedName: str) -> bool:  # noqa: N802, N803
        return _IDENT_OF.get(compressedName) in _MULTIPLE

    def getIdentFromName(self, compressedName: str) -> int:  # noqa: N802, N803
        return _IDENT_OF.get(compressedName, -1)

    def getNameFromIdent(self, identifier: int) -> str | None:  # noqa: N802
        return _NAME_OF.get(identifier)

    def __setattr__(self, name: str, value: Any) -> None:
        name = name.replace(" ", "")
        if name in _PRIVATE or name in _CHECKED:
            super().__setattr__(name, value)  # type: ignore[no-untyped-call]
            return
        ident = _IDENT_OF.get(name)
        if ident is None:
            raise MQTTException(f"Property name must be one of {list(_IDENT_OF)}")
        if self.packetType not in _PACKETS_OF[ident]:
            raise MQTTException(
                f"Property {name} does not apply to packet type "
                f"{PacketTypes.Names[self.packetType]}"
            )
        if ident in _MULTIPLE:
            if not isinstance(value, list):
                value = [value]
            if name in self.__dict__:
                value = self.__dict__[name] + value
        object.__setattr__(self, name, value)

    def isEmpty(self) -> bool:  # noqa: N802
        return not any(name in self.__dict__ for name in _IDENT_OF)

    def clear(self) -> None:
        for name in _IDENT_OF:
            self.__dict__.pop(name, None)

    def pack(self) -> bytes:
        parts: list[bytes] = []
        present = self.__dict__
        for ident, name in _ORDER:
            if name not in present:
                continue
            values = present[name] if ident in _MULTIPLE else [present[name]]
            for value in values:
                parts.append(encode_vbi(ident))
                parts.append(_write(_TYPE_OF[ident], value))
        body = b"".join(parts)
        return encode_vbi(len(body)) + body

    def unpack(self, buffer: bytes) -> tuple[FastProperties, int]:
        self.clear()
        propslen, vbi_len = _decode_vbi(buffer)
        view = memoryview(buffer)[vbi_len:]
        left = propslen
        present = self.__dict__
        while left > 0:
            ident, ident_len = _decode_vbi(view)
            view = view[ident_len:]
            left -= ident_len
            kind = _TYPE_OF.get(ident)
            if kind is None:
                raise KeyError(ident)  # paho's own error here (a DECODE_ERRORS)
            value, value_len = _read(kind, view, left)
            view = view[value_len:]
            left -= value_len
            name = _ATTR_OF[ident]
            if ident in _MULTIPLE:
                present[name] = [*present.get(name, []), value]
            elif name in present:
                raise MQTTException(f"Property '{name}' must not exist more than once")
            else:
                self.__setattr__(name, value)
        return self, propslen + vbi_len


def _write(kind: int, value: Any) -> bytes:
    if kind == BYTE:
        return bytes([value])
    if kind == TWO:
        return struct.pack("!H", value)
    if kind == FOUR:
        return struct.pack("!L", value)
    if kind == VBI:
        return encode_vbi(value)
    if kind == BINARY:
        return struct.pack("!H", len(value)) + bytes(value)
    if kind == UTF8:
        return _utf(value)
    return _utf(value[0]) + _utf(value[1])  # PAIR


def _read(kind: int, view: Any, left: int) -> tuple[Any, int]:
    if kind == BYTE:
        return view[0], 1
    if kind == TWO:
        return (view[0] << 8) | view[1], 2
    if kind == FOUR:
        return struct.unpack("!L", view[:4])[0], 4
    if kind == VBI:
        return _decode_vbi(view)
    if kind == BINARY:
        if left < 2:
            raise MalformedPacket("Not enough data to read binary data length")
        length = (view[0] << 8) | view[1]
        if length > left - 2:
            raise MalformedPacket("Length delimited binary data too long")
        return bytes(view[2 : 2 + length]), length + 2
    if kind == UTF8:
        return _read_utf(view, left)
    key, key_len = _read_utf(view, left)  # PAIR
    value, value_len = _read_utf(view[key_len:], left - key_len)
    return (key, value), key_len + value_len


def install() -> None:
    """paho decodes incoming packets' properties with ``FastProperties`` from now on."""
    paho_packet.Properties = FastProperties  # type: ignore[attr-defined]
