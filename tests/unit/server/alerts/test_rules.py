"""Routing, quiet hours and retry spacing of alerts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from server.alerts.rules import (
    Backoff,
    QuietHours,
    Route,
    check_station_patterns,
    covers,
    given_up,
    parse_quiet_hours,
    retry_delay_s,
    send_after,
)
from server.core.localtime import LOCAL_TZ

NIGHT = QuietHours(time(22), time(7))


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 10, day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


@pytest.mark.parametrize(
    ("stations", "kinds", "station_id", "kind", "expected"),
    [
        (("*",), (), "sz-001", "welfare", True),
        (("sz-001",), (), "sz-001", "held_open", True),
        (("sz-001",), (), "sz-0010", "held_open", False),
        (("sz-*",), (), "sz-017", "held_open", True),
        (("sz-*",), (), "gz-017", "held_open", False),
        (("gz-1", "sz-*"), ("forced_open",), "sz-2", "forced_open", True),
        (("*",), ("forced_open",), "sz-2", "welfare", False),
    ],
)
def test_routing(
    stations: tuple[str, ...], kinds: tuple[str, ...], station_id: str, kind: str, expected: bool
) -> None:
    assert covers(Route(stations, kinds), station_id=station_id, kind=kind) is expected


@pytest.mark.parametrize("patterns", [[], ["sz-*-x*"], ["*x"], [""]])
def test_bad_station_patterns_are_refused(patterns: list[str]) -> None:
    with pytest.raises(ValueError, match="stations"):
        check_station_patterns(patterns)


def test_quiet_hours_hold_a_non_urgent_alarm_until_they_end() -> None:
    route = Route(("*",), quiet=NIGHT)
    late = _local(1, 23, 30)
    assert send_after(route, kind="welfare", raised_at=late) == _local(2, 7)
    early = _local(2, 5, 0)
    assert send_after(route, kind="held_open", raised_at=early) == _local(2, 7)
    day = _local(2, 12)
    assert send_after(route, kind="welfare", raised_at=day) == day
    assert send_after(route, kind="welfare", raised_at=_local(2, 7)) == _local(2, 7)


@pytest.mark.parametrize("kind", ["forced_open", "camera_tamper"])
def test_a_forced_door_or_tampered_camera_is_never_held(kind: str) -> None:
    late = _local(1, 23, 30)
    assert send_after(Route(("*",), quiet=NIGHT), kind=kind, raised_at=late) == late


def test_quiet_hours_within_one_day() -> None:
    lunch = Route(("*",), quiet=QuietHours(time(12), time(14)))
    assert send_after(lunch, kind="welfare", raised_at=_local(3, 13)) == _local(3, 14)
    assert send_after(lunch, kind="welfare", raised_at=_local(3, 14, 1)) == _local(3, 14, 1)


@pytest.mark.parametrize(
    ("starts", "ends", "error"),
    [
        ("22:00", None, "both"),
        ("25:00", "07:00", "look like"),
        ("soon", "07:00", "look like"),
        ("07:00", "07:00", "same time"),
    ],
)
def test_bad_quiet_hours_are_refused(starts: str | None, ends: str | None, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_quiet_hours(starts, ends)


def test_no_quiet_hours() -> None:
    assert parse_quiet_hours(None, None) is None
    assert parse_quiet_hours("22:00", "07:00") == NIGHT


def test_retries_double_up_to_the_cap_with_jitter() -> None:
    backoff = Backoff(base_s=10, cap_s=100)
    assert [retry_delay_s(backoff, attempts=n, jitter=0.0) for n in (1, 2, 3, 4, 5)] == [
        5, 10, 20, 40, 50,
    ]  # fmt: skip
    assert retry_delay_s(backoff, attempts=2, jitter=0.999) == pytest.approx(20, abs=0.1)
    assert retry_delay_s(backoff, attempts=30, jitter=1.0) == 100


def test_a_delivery_is_given_up_at_its_max_age() -> None:
    backoff = Backoff(max_age=timedelta(hours=1))
    raised = _local(1, 8)
    assert not given_up(backoff, raised_at=raised, now=raised + timedelta(minutes=59))
    assert given_up(backoff, raised_at=raised, now=raised + timedelta(hours=1))
