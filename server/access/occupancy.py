"""How many people are inside: entries minus exits, never negative. No I/O."""

from __future__ import annotations

from protocol.payloads import EventKind, Passage


def apply(occupancy: int, kind: EventKind, passage: Passage | None) -> int:
    if kind is not EventKind.DOOR_OPENED:
        return occupancy
    if passage is Passage.ENTRY:
        return occupancy + 1
    if passage is Passage.EXIT:
        return max(0, occupancy - 1)
    return occupancy
