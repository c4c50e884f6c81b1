"""The server's control keys this station pins, shared by the MQTT adapter (which checks every
decision, command, config and acknowledgement against them before anything reaches the loop)
and the loop (which pins the keys a verified config announces).

The mapping is replaced whole, never changed in place, so the adapter's thread reads it
without a lock; replacing it takes one.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from protocol.credential import public_key_from_text


def parse_keys(keys: Mapping[str, str]) -> dict[str, bytes]:
    """kid -> raw public key; raises ValueError naming a key that does not parse."""
    parsed: dict[str, bytes] = {}
    for kid, text in keys.items():
        try:
            parsed[kid] = public_key_from_text(text)
        except ValueError as exc:
            raise ValueError(f"control key {kid!r}: {exc}") from None
    return parsed


class PinnedKeys:
    def __init__(self, keys: Mapping[str, str]) -> None:
        self._lock = threading.Lock()
        self._text = dict(keys)
        self._raw = parse_keys(keys)

    @property
    def raw(self) -> Mapping[str, bytes]:
        return self._raw

    @property
    def text(self) -> Mapping[str, str]:
        return self._text

    def replace(self, keys: Mapping[str, str]) -> None:
        raw = parse_keys(keys)
        if not raw:
            raise ValueError("a station must pin at least one control key")
        with self._lock:
            self._text, self._raw = dict(keys), raw
