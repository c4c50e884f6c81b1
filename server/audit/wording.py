"""An audit entry in words, in the reader's language: who (a person, the night check, a
station), what happened, and what changed (``容量：10 → 12``). Pure: the entry's values and
a language in, text out, every word from the catalogue (``audit.*``, ``code.*``, ``page.*``).
A value the catalogue has no word for is shown as it is (a name, a number, a note)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import i18n
from server.events.occupancy import QUIET_HOUR_ACTOR
from server.stations.hours_text import describe_hours

STATION_ACTOR_PREFIX = "station:"
# What a station says about a command it answered (station_agent.control):
# "command <id>: <kind> by <who>: <reason>" when done, "command <id>: <kind>: <why>" when not.
_COMMAND_ANSWER = re.compile(
    r"^command [0-9a-f]+: (?P<kind>[a-z_]+)(?: by (?P<by>[^:]+))?: ?(?P<rest>.*)$"
)
# Fields whose values are codes with words of their own.
_CODED = {"mode", "emergency", "passback", "state", "status", "platform", "role", "purpose", "link"}
_BOOLEAN = {"lockdown", "maintenance", "station_online", "closed"}
# Context kept beside the change, said in the action's sentence rather than as a change.
_CONTEXT = {
    "alarm_id",
    "kind",
    "note",
    "closed",
    "door_quiet_h",
    "door_quiet_min_h",
    "purpose",
    "username",
}


@dataclass(frozen=True, slots=True)
class AuditLine:
    actor: str
    what: str
    change: str  # "" when the entry records no before and after


class _Words:
    def __init__(self, language: str) -> None:
        self._words = i18n.catalogue(language)

    def __call__(self, key: str) -> str:
        return self._words.get(key, key)

    def has(self, key: str) -> bool:
        return key in self._words

    def code(self, value: str) -> str:
        return self._words.get(f"code.{value}", value)


def _value(field: str, value: Any, w: _Words) -> str:
    if field == "opening_hours":
        return describe_hours(value if isinstance(value, Mapping) else None, w)
    if value is None or value == "":
        return w("audit.none")
    if field in _BOOLEAN or isinstance(value, bool):
        return w("audit.yes") if value else w("audit.no")
    if field == "soft_limit" and isinstance(value, int | float):
        return f"{round(value * 100)}%"
    if field == "outdoor_temp_c":
        return f"{value} °C"
    if field == "stations":  # a notifier's station patterns, JSON as stored
        try:
            patterns = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            return str(value)
        if isinstance(patterns, list):
            shown = [w("audit.all_stations") if p == "*" else str(p) for p in patterns]
            return w("page.days_sep").join(shown)
    if field == "amenities" and isinstance(value, list):
        return w("page.days_sep").join(w.code(f"amenity_{v}") for v in value) or w("audit.none")
    if field in _CODED:
        for key in (f"code.{field}_{value}", f"page.{field}_{value}"):
            if w.has(key):
                return w(key)
        return w.code(str(value))
    return str(value)


def _field(name: str, w: _Words) -> str:
    key = f"audit.field_{name}"
    return w(key) if w.has(key) else name


def describe_change(before: Mapping[str, Any], after: Mapping[str, Any], language: str) -> str:
    """``field: before → after`` for every field the change touched, in the catalogue's
    order of separators; a field only after (something created) is ``field: value``."""
    w = _Words(language)
    parts = []
    for name in [*after, *(k for k in before if k not in after)]:
        if name in _CONTEXT:
            continue
        was, now = before.get(name), after.get(name)
        if name not in before:
            parts.append(f"{_field(name, w)}{w('audit.colon')}{_value(name, now, w)}")
        elif was != now or name not in after:
            shown = _value(name, now, w) if name in after else w("audit.none")
            parts.append(f"{_field(name, w)}{w('audit.colon')}{_value(name, was, w)} → {shown}")
    return w("page.hours_sep").join(parts)


def _actor(actor: str, w: _Words) -> str:
    if actor == QUIET_HOUR_ACTOR:
        return w("audit.actor_quiet_hour")
    if actor.startswith(STATION_ACTOR_PREFIX):
        return w("audit.actor_station")
    if actor == "system":
        return w("audit.actor_system")
    return actor


def _command_answer(action: str, detail: str, w: _Words) -> str:
    match = _COMMAND_ANSWER.match(detail)
    if match is None:
        return w(f"audit.{action}_unknown")
    command = w.code(f"command_{match['kind']}")
    if action == "command_done":
        return w("audit.command_done").format(command=command, by=match["by"] or "?")
    why = match["rest"].strip()
    key = "code.command_refusal_" + why.replace(" ", "_")
    return w("audit.command_refused").format(command=command, why=w(key) if w.has(key) else why)


def describe(
    *,
    action: str,
    actor: str,
    station_id: str | None,
    rider_id: str | None,
    detail: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    language: str,
) -> AuditLine:
    w = _Words(language)
    if action in {"command_done", "command_refused"}:
        what = _command_answer(action, detail, w)
    elif w.has(f"audit.{action}"):
        values = {
            **{k: "" if v is None else str(v) for k, v in after.items()},
            "station": station_id or "",
            "rider": rider_id or "",
            "kind": w.code(str(after.get("kind") or before.get("kind") or detail)),
            "alarm": after.get("alarm_id", ""),
            "name": str(after.get("name") or before.get("name") or after.get("username") or ""),
            "purpose": _value("purpose", after.get("purpose", ""), w),
        }
        what = w(f"audit.{action}").format(**values)
    else:
        what = w.code(action)
    return AuditLine(_actor(actor, w), what, describe_change(before, after, language))
