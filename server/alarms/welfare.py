"""Welfare alerts: a rider inside far longer than a rest takes may be unwell. Pure.

A rest usually lasts minutes to an hour. Staff are asked to look in on a rider who has been
inside (defaults, all in ``WelfareRules``):

- 2 h or more while it is 35 °C or hotter, or -10 °C or colder, outside (heat stroke, cold:
  the people most at risk are the ones who came in from it);
- 4 h or more at night (22:00-06:00 local): asleep, or not well;
- 8 h or more at any time (off with ``long_stay_s=None``).

How the server calls it: from a periodic job (every few minutes), for each station, with the
stays open there (``Stay``: who entered when, and whether this stay already raised an alert),
the time and the outdoor temperature at the station (None when unknown: the weather rule is
skipped). Store each returned alert and mark its stay alerted: one alert per stay, not one
per check. The stays are the server's: opened by an ``entry`` with a rider id, ended when the
rider enters anywhere again, when the station's count reaches zero, by the quiet-hour
reconciliation or by staff. Exits are not tied to riders, so a rider who left unseen keeps a
stay until one of those: an alert for someone already gone is possible and staff can end it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from server.core.localtime import LOCAL_TZ

HOUR_S = 3600.0


class WelfareCause(StrEnum):
    HEAT = "heat"
    COLD = "cold"
    NIGHT = "night"
    LONG_STAY = "long_stay"


@dataclass(frozen=True, slots=True)
class WelfareRules:
    hot_c: float = 35.0
    cold_c: float = -10.0
    weather_stay_s: float = 2 * HOUR_S
    night_starts: time = time(22, 0)
    night_ends: time = time(6, 0)  # before night_starts: the night runs past midnight
    night_stay_s: float = 4 * HOUR_S
    long_stay_s: float | None = 8 * HOUR_S
    tz: ZoneInfo = LOCAL_TZ


@dataclass(frozen=True, slots=True)
class Stay:
    rider_id: str
    station_id: str
    entered_at: float  # Unix seconds
    alerted: bool = False


@dataclass(frozen=True, slots=True)
class WelfareAlert:
    rider_id: str
    station_id: str
    cause: WelfareCause
    inside_s: float
    at: float
    outdoor_c: float | None


def check_stay(
    stay: Stay, *, now: float, outdoor_c: float | None, rules: WelfareRules
) -> WelfareAlert | None:
    """The alert this stay calls for now, or None. The most urgent cause is named (weather,
    then night, then length)."""
    if stay.alerted:
        return None
    cause = _cause(now - stay.entered_at, now, outdoor_c, rules)
    if cause is None:
        return None
    return WelfareAlert(
        stay.rider_id, stay.station_id, cause, now - stay.entered_at, now, outdoor_c
    )


def due_alerts(
    stays: Iterable[Stay], *, now: float, outdoor_c: float | None, rules: WelfareRules
) -> tuple[WelfareAlert, ...]:
    found = (check_stay(s, now=now, outdoor_c=outdoor_c, rules=rules) for s in stays)
    return tuple(alert for alert in found if alert is not None)


def is_night(rules: WelfareRules, now: float) -> bool:
    at = datetime.fromtimestamp(now, rules.tz).time()
    starts, ends = rules.night_starts, rules.night_ends
    if starts == ends:
        return False  # no night window configured
    if starts < ends:
        return starts <= at < ends
    return at >= starts or at < ends


def _cause(
    inside_s: float, now: float, outdoor_c: float | None, rules: WelfareRules
) -> WelfareCause | None:
    if outdoor_c is not None and inside_s >= rules.weather_stay_s:
        if outdoor_c >= rules.hot_c:
            return WelfareCause.HEAT
        if outdoor_c <= rules.cold_c:
            return WelfareCause.COLD
    if inside_s >= rules.night_stay_s and is_night(rules, now):
        return WelfareCause.NIGHT
    if rules.long_stay_s is not None and inside_s >= rules.long_stay_s:
        return WelfareCause.LONG_STAY
    return None
