"""The detail line of an alarm or of a command's outcome, in a few fixed shapes.

The line is English, for logs, CSV and the JSON API; because its shape is fixed, ``read``
gives back the shape and its values, and a staff page or an alert says it in its own language
(``detail.<shape>`` in ``i18n``). The station writes the door, camera and command lines
(``station_agent``), the server the offline and welfare ones. A line in no known shape (an
older station's, a person's) is shown as it is.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Shape(StrEnum):
    FORCED_OPEN = "forced_open"
    TAILGATE = "tailgate"
    HELD_OPEN = "held_open"
    CONTACT_FAULT = "contact_fault"
    CAMERA_TROUBLE = "camera_trouble"
    OFFLINE = "offline"
    WELFARE = "welfare"
    COMMAND_DONE = "command_done"
    COMMAND_REFUSED = "command_refused"


# Read in this order, the first shape that matches wins: a command's line (its reason is free
# text) before the welfare line it could otherwise pass for.
TEMPLATES: dict[Shape, str] = {
    Shape.FORCED_OPEN: "opened with no unlock and no exit button",
    Shape.TAILGATE: "second {passage} on one release",
    Shape.HELD_OPEN: "open for {seconds} s",
    Shape.CONTACT_FAULT: "{changes} contact changes within {seconds} s",
    Shape.CAMERA_TROUBLE: "camera {camera} for {seconds} s",
    Shape.OFFLINE: "offline since {since} ({cause}), {minutes} min",
    Shape.COMMAND_DONE: "{command} by {by}: {reason}",
    Shape.COMMAND_REFUSED: "{command}: {refusal}",
    Shape.WELFARE: "{cause}: inside {hours} h, please look in",
}

_CODE = r"[a-z][a-z_ ]*"  # a code, or (older lines) a few lower-case words
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
# What each value may hold: narrow enough that a line reads one way only.
VALUE_PATTERNS: dict[str, str] = {
    "passage": _CODE,
    "seconds": _NUMBER,
    "changes": _NUMBER,
    "camera": _CODE,
    "since": r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}",
    "cause": _CODE,
    "minutes": _NUMBER,
    "hours": _NUMBER,
    "command": r"[a-z][a-z_]*",
    "by": r"\S+",
    "reason": r".+",
    "refusal": _CODE,
}
_FIELD = re.compile(r"\{(\w+)\}")
# An event's detail holds at most this much (``StationEvent.detail``); a command's reason may
# be 200 characters by itself, so its line is cut to fit (the reason, last, loses its end).
MAX_LINE = 200


def _pattern(template: str) -> re.Pattern[str]:
    parts, at = [], 0
    for field in _FIELD.finditer(template):
        parts.append(re.escape(template[at : field.start()]))
        name = field.group(1)
        parts.append(f"(?P<{name}>{VALUE_PATTERNS[name]})")
        at = field.end()
    parts.append(re.escape(template[at:]))
    return re.compile("".join(parts), re.DOTALL)


_PATTERNS = {shape: _pattern(template) for shape, template in TEMPLATES.items()}


def fields(shape: Shape) -> set[str]:
    return set(_FIELD.findall(TEMPLATES[shape]))


def write(shape: Shape, **values: object) -> str:
    """The line of ``shape``, at most ``MAX_LINE`` long; numbers as ``%g`` (60.0 -> "60").
    Raises ValueError unless the values are the shape's. A value outside its pattern (a user
    name with a space, say) still makes a line, which reads back as no shape and is shown as
    it is."""
    if set(values) != fields(shape):
        raise ValueError(f"{shape.value} takes {sorted(fields(shape))}, not {sorted(values)}")
    shown = {k: f"{v:g}" if isinstance(v, float) else str(v) for k, v in values.items()}
    line = TEMPLATES[shape].format(**shown)
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def read(line: str) -> tuple[Shape, dict[str, str]] | None:
    """The shape of ``line`` and its values, or None for a line in no known shape."""
    for shape, pattern in _PATTERNS.items():
        found = pattern.fullmatch(line)
        if found:
            return shape, found.groupdict()
    return None
