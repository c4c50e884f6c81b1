"""A station's opening hours in words, for staff: ``周一至周五 08:00–22:00；周六、周日 休息``.
Pure: the raw hours (as stored, see ``server.stations.rules.parse_opening_hours``) and a
lookup of the catalogue's words in; text out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Words = Callable[[str], str]  # "page.day_0" -> "周一"


def _span(span: Any, w: Words) -> str:
    if not (isinstance(span, Sequence) and len(span) == 2) or isinstance(span, str):
        return w("page.hours_closed")
    opens, closes = (str(part)[:5] for part in span)
    return w("page.hours_all_day") if opens == closes else f"{opens}–{closes}"


def _days(first: int, last: int, w: Words) -> str:
    if first == last:
        return w(f"page.day_{first}")
    if last == first + 1:
        return w(f"page.day_{first}") + w("page.days_sep") + w(f"page.day_{last}")
    return w("page.days_range").format(a=w(f"page.day_{first}"), b=w(f"page.day_{last}"))


def describe_hours(raw: Mapping[str, Any] | None, w: Words) -> str:
    """``None`` is open around the clock; a day's own hours (holidays) come after the week."""
    if raw is None:
        return w("page.open_24h")
    weekly = list(raw.get("weekly") or [])
    parts: list[str] = []
    start = 0
    for day in range(1, len(weekly) + 1):
        if day == len(weekly) or weekly[day] != weekly[start]:
            parts.append(f"{_days(start, day - 1, w)} {_span(weekly[start], w)}")
            start = day
    for key in ("public_holidays", "adjusted_workdays"):
        if key in raw:
            parts.append(f"{w('page.' + key)} {_span(raw[key], w)}")
    holidays = raw.get("holidays") or {}
    if isinstance(holidays, Mapping):
        for day, span in sorted(holidays.items()):
            parts.append(f"{day} {_span(span, w)}")
    return w("page.hours_sep").join(parts)
