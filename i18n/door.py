"""What a station's display says for a refusal, with the rider's next step: the nearest open
station with room and how far, when this station reopens, the union's hotline.

Short enough for the door's screen (``MAX_DOOR_CHARS``, checked by a test for every reason
with the longest hints): a long station name is cut, a distance rounded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

# Refusals that leave a rider nowhere to go here (``protocol.reasons.DEAD_ENDS``; the words
# do not import the contract, a test keeps the two equal).
DEAD_ENDS = frozenset({"station_full", "closed_now", "maintenance", "lockdown"})
MAX_NAME_CHARS = 12  # a nearby station's name on the door, cut with "…" past this
MAX_DOOR_CHARS = {"zh": 40, "en": 100}
_SEPARATOR = {"zh": "。", "en": ". "}


class Hint(Protocol):
    """``protocol.reasons.DoorHint``, as far as the words need it."""

    @property
    def nearby(self) -> str | None: ...
    @property
    def nearby_distance_m(self) -> int | None: ...
    @property
    def reopens_at(self) -> datetime | None: ...
    @property
    def decided_at(self) -> datetime | None: ...
    @property
    def hotline(self) -> str | None: ...


def door_message(
    words: dict[str, str], reason: str, language: str, hint: Hint | None = None
) -> str:
    """The display's line for ``reason`` in the catalogue ``words`` of ``language``."""
    plain = words[f"door.{reason}"]
    if hint is None:
        return plain
    hotline = hint.hotline
    if reason not in DEAD_ENDS:
        call = words.get(f"door.{reason}_call")
        return call.replace("{hotline}", hotline) if call and hotline else plain
    if reason == "closed_now" and hint.reopens_at is not None:
        head = words["door.closed_until"].replace(
            "{time}", _when(words, hint.reopens_at, hint.decided_at)
        )
    else:
        head = words[f"door.{reason}_short"]
    if hint.nearby:
        name = _cut(hint.nearby)
        if hint.nearby_distance_m is None:
            tail = words["door.nearby_no_distance"]
        else:
            distance = _distance(words, hint.nearby_distance_m)
            tail = words["door.nearby"].replace("{distance}", distance)
        return head + _SEPARATOR.get(language, "。") + tail.replace("{station}", name)
    if hotline:
        return (
            head
            + _SEPARATOR.get(language, "。")
            + words["door.hotline"].replace("{hotline}", hotline)
        )
    return head if head != words[f"door.{reason}_short"] else plain


def _cut(name: str) -> str:
    name = name.strip()
    return name if len(name) <= MAX_NAME_CHARS else name[: MAX_NAME_CHARS - 1] + "…"


def _distance(words: dict[str, str], metres: int) -> str:
    rounded = max(50, round(metres / 50) * 50)
    if rounded < 1000:
        return words["door.metres"].replace("{n}", str(rounded))
    km = metres / 1000
    shown = f"{km:.1f}" if km < 10 else str(round(km))
    return words["door.kilometres"].replace("{n}", shown)


def _when(words: dict[str, str], at: datetime, decided_at: datetime | None) -> str:
    """``08:00`` today, ``明天08:00`` tomorrow, else with the date; in the zone ``at`` carries
    (the station's local time, as the server sent it)."""
    hm = at.strftime("%H:%M")
    days = (
        None if decided_at is None else (at.date() - decided_at.astimezone(at.tzinfo).date()).days
    )
    if days == 0:
        key = "door.time_today"
    elif days == 1:
        key = "door.time_tomorrow"
    else:
        key = "door.time_later"
    return (
        words[key]
        .replace("{hm}", hm)
        .replace("{month}", str(at.month))
        .replace("{day}", str(at.day))
    )
