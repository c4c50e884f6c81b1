from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time

import pytest

from server.alarms.welfare import (
    HOUR_S,
    Stay,
    WelfareAlert,
    WelfareCause,
    WelfareRules,
    check_stay,
    due_alerts,
    is_night,
)
from server.core.localtime import LOCAL_TZ

RULES = WelfareRules()


def _at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 12, day, hour, minute, tzinfo=LOCAL_TZ).timestamp()


@pytest.mark.parametrize(
    ("entered", "now", "outdoor_c", "cause"),
    [
        # Night: 4 h inside and it is night now.
        (_at(1, 21), _at(2, 0, 59), None, None),
        (_at(1, 21), _at(2, 1), None, WelfareCause.NIGHT),
        (_at(2, 1), _at(2, 4, 59), 10.0, None),
        (_at(2, 1), _at(2, 5), 10.0, WelfareCause.NIGHT),
        (_at(2, 2), _at(2, 6), 10.0, None),  # 4 h, but morning now: under the 8 h rule
        # Weather: 2 h inside in heat or cold, day or night.
        (_at(2, 10), _at(2, 12), 35.0, WelfareCause.HEAT),
        (_at(2, 10), _at(2, 11, 59), 38.0, None),
        (_at(2, 10), _at(2, 12), 34.9, None),
        (_at(2, 10), _at(2, 12), -10.0, WelfareCause.COLD),
        (_at(2, 10), _at(2, 12), -9.9, None),
        (_at(2, 10), _at(2, 12), None, None),  # temperature unknown: the rule is skipped
        # Weather is named before night, night before length.
        (_at(1, 20), _at(2, 2), -20.0, WelfareCause.COLD),
        (_at(1, 16), _at(2, 0, 30), 20.0, WelfareCause.NIGHT),
        # Any time: 8 h.
        (_at(2, 8), _at(2, 15, 59), 20.0, None),
        (_at(2, 8), _at(2, 16), 20.0, WelfareCause.LONG_STAY),
    ],
)
def test_causes(
    entered: float, now: float, outdoor_c: float | None, cause: WelfareCause | None
) -> None:
    alert = check_stay(Stay("r-1", "s-1", entered), now=now, outdoor_c=outdoor_c, rules=RULES)
    assert (alert.cause if alert else None) is cause
    if alert is not None:
        assert alert == WelfareAlert("r-1", "s-1", cause, now - entered, now, outdoor_c)  # type: ignore[arg-type]


def test_one_alert_per_stay_however_often_it_is_checked() -> None:
    stays = {
        "a": Stay("r-a", "s-1", _at(1, 20)),
        "b": Stay("r-b", "s-1", _at(2, 1)),
        "c": Stay("r-c", "s-1", _at(2, 9)),
    }
    raised: list[tuple[str, float]] = []
    now = _at(1, 20)
    while now < _at(2, 20):  # a check every five minutes for a day, in a cold snap
        for alert in due_alerts(stays.values(), now=now, outdoor_c=-12.0, rules=RULES):
            raised.append((alert.rider_id, alert.at))
            key = alert.rider_id.removeprefix("r-")
            stays[key] = replace(stays[key], alerted=True)
        now += 300
    assert raised == [("r-a", _at(1, 22)), ("r-b", _at(2, 3)), ("r-c", _at(2, 11))]


def test_thresholds_are_configurable_and_the_any_time_rule_can_be_off() -> None:
    stay = Stay("r-1", "s-1", _at(2, 8))
    now = _at(2, 20)  # 12 h, daytime, mild
    assert check_stay(stay, now=now, outdoor_c=15.0, rules=replace(RULES, long_stay_s=None)) is None
    strict = replace(RULES, long_stay_s=None, hot_c=30.0, weather_stay_s=HOUR_S)
    alert = check_stay(stay, now=_at(2, 9), outdoor_c=31.0, rules=strict)
    assert alert is not None
    assert alert.cause is WelfareCause.HEAT


def test_a_clock_behind_the_entry_raises_nothing() -> None:
    stay = Stay("r-1", "s-1", _at(2, 10))
    assert check_stay(stay, now=_at(2, 9), outdoor_c=40.0, rules=RULES) is None


@pytest.mark.parametrize(
    ("starts", "ends", "hour", "minute", "night"),
    [
        (time(22), time(6), 21, 59, False),
        (time(22), time(6), 22, 0, True),
        (time(22), time(6), 3, 0, True),
        (time(22), time(6), 5, 59, True),
        (time(22), time(6), 6, 0, False),
        (time(0), time(5), 4, 0, True),  # a window that does not cross midnight
        (time(0), time(5), 23, 0, False),
        (time(1), time(1), 1, 0, False),  # equal: no night window
    ],
)
def test_night_window(starts: time, ends: time, hour: int, minute: int, night: bool) -> None:
    rules = replace(RULES, night_starts=starts, night_ends=ends)
    assert is_night(rules, _at(2, hour, minute)) is night
