from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.reasons import Reason
from server.access.policy import (
    ALL_DAY,
    AdmissionInput,
    Emergency,
    OpeningHours,
    PassbackMode,
    Span,
    StaffFlag,
    StationRules,
    accepting_riders,
    admit,
    open_at,
    soft_count,
)
from server.core.localtime import LOCAL_TZ


def _at(year: int, month: int, day: int, hour: int, minute: int) -> float:
    """Unix seconds of a local time in Shanghai."""
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ).timestamp()


# 2026-12-07 is a Monday.
MONDAY_NOON = _at(2026, 12, 7, 12, 0)
DAY = Span(time(8), time(20))
NIGHT = Span(time(20), time(8))  # past midnight
OFFICE = OpeningHours((DAY, DAY, DAY, DAY, DAY, None, None))
STATION = StationRules(capacity=10)
RIDER = AdmissionInput("r-1", occupancy=3)
INSIDE = replace(RIDER, inside_since=MONDAY_NOON - 600)


@pytest.mark.parametrize(
    ("rules", "request_", "now", "reason"),
    [
        (STATION, RIDER, MONDAY_NOON, Reason.GRANTED),
        # Lockdown wins over everything, maintenance over free entry and the rest.
        (
            replace(STATION, lockdown=True, maintenance=True, emergency=Emergency.TYPHOON),
            RIDER,
            MONDAY_NOON,
            Reason.LOCKDOWN,
        ),
        (replace(STATION, lockdown=True), RIDER, MONDAY_NOON, Reason.LOCKDOWN),
        (
            replace(STATION, maintenance=True, emergency=Emergency.HEAT_WAVE),
            RIDER,
            MONDAY_NOON,
            Reason.MAINTENANCE,
        ),
        # Free entry wins over hours, capacity and anti-passback.
        (
            replace(STATION, emergency=Emergency.COLD_SNAP, hours=OFFICE),
            replace(INSIDE, occupancy=15),
            _at(2026, 12, 12, 3, 0),  # Saturday night: closed
            Reason.GRANTED,
        ),
        (
            replace(STATION, emergency=Emergency.COLD_SNAP, passback=PassbackMode.ENFORCE),
            replace(INSIDE, occupancy=10),
            MONDAY_NOON,
            Reason.GRANTED,
        ),
        # Then hours, then capacity, then anti-passback.
        (
            replace(STATION, hours=OFFICE, passback=PassbackMode.ENFORCE),
            replace(INSIDE, occupancy=10),
            _at(2026, 12, 7, 21, 0),
            Reason.CLOSED_NOW,
        ),
        (
            replace(STATION, passback=PassbackMode.ENFORCE),
            replace(INSIDE, occupancy=10),
            MONDAY_NOON,
            Reason.STATION_FULL,
        ),
        (
            replace(STATION, passback=PassbackMode.ENFORCE),
            INSIDE,
            MONDAY_NOON,
            Reason.ANTI_PASSBACK,
        ),
        (STATION, INSIDE, MONDAY_NOON, Reason.GRANTED),  # alert mode: admitted, flagged
        (STATION, replace(RIDER, occupancy=10), MONDAY_NOON, Reason.STATION_FULL),
        (STATION, replace(RIDER, occupancy=9), MONDAY_NOON, Reason.GRANTED),
    ],
)
def test_precedence(
    rules: StationRules, request_: AdmissionInput, now: float, reason: Reason
) -> None:
    admission = admit(request_, rules, now)
    assert (admission.allowed, admission.reason) == (reason is Reason.GRANTED, reason)


@given(
    lockdown=st.booleans(),
    maintenance=st.booleans(),
    emergency=st.none() | st.sampled_from(Emergency),
    hours=st.none() | st.just(OFFICE),
    passback=st.sampled_from(PassbackMode),
    occupancy=st.integers(0, 30),
    inside=st.booleans(),
    now=st.floats(MONDAY_NOON, MONDAY_NOON + 14 * 86400),
)
def test_modes_apply_in_order_lockdown_then_maintenance_then_free_entry(
    lockdown: bool,
    maintenance: bool,
    emergency: Emergency | None,
    hours: OpeningHours | None,
    passback: PassbackMode,
    occupancy: int,
    inside: bool,
    now: float,
) -> None:
    rules = StationRules(
        capacity=10,
        hours=hours,
        lockdown=lockdown,
        maintenance=maintenance,
        emergency=emergency,
        passback=passback,
    )
    request_ = AdmissionInput("r-1", occupancy, inside_since=now - 60 if inside else None)
    admission = admit(request_, rules, now)
    if lockdown:
        assert admission.reason is Reason.LOCKDOWN
    elif maintenance:
        assert admission.reason is Reason.MAINTENANCE
    elif emergency is not None:
        assert admission.allowed
        assert StaffFlag.FREE_ENTRY in admission.flags
        assert (StaffFlag.OVER_CAPACITY in admission.flags) == (occupancy >= 10)
    elif occupancy >= 10 and open_at(rules, now):
        assert admission.reason is Reason.STATION_FULL
    if admission.allowed and emergency is None:
        assert occupancy < 10
        assert open_at(rules, now)
    assert admission.allowed == (admission.reason is Reason.GRANTED)


def test_soft_limit_warns_staff_but_admits() -> None:
    assert soft_count(STATION) == 8
    assert admit(replace(RIDER, occupancy=6), STATION, MONDAY_NOON).flags == ()
    near = admit(replace(RIDER, occupancy=7), STATION, MONDAY_NOON)
    assert (near.allowed, near.flags) == (True, (StaffFlag.NEAR_CAPACITY,))
    assert soft_count(StationRules(capacity=1)) == 1
    assert soft_count(StationRules(capacity=10, soft_limit=1.5)) == 10


def test_anti_passback_alert_flags_and_enforce_refuses() -> None:
    alert = admit(INSIDE, STATION, MONDAY_NOON)
    assert (alert.allowed, alert.flags) == (True, (StaffFlag.ALREADY_INSIDE,))
    enforce = admit(INSIDE, replace(STATION, passback=PassbackMode.ENFORCE), MONDAY_NOON)
    assert (enforce.allowed, enforce.reason) == (False, Reason.ANTI_PASSBACK)
    # A stay not seen to end for longer than the window no longer counts.
    stale = replace(RIDER, inside_since=MONDAY_NOON - STATION.passback_window_s)
    assert admit(stale, replace(STATION, passback=PassbackMode.ENFORCE), MONDAY_NOON).allowed


def test_free_entry_flags_what_it_overrode() -> None:
    rules = replace(STATION, emergency=Emergency.HEAT_WAVE)
    admission = admit(replace(INSIDE, occupancy=12), rules, MONDAY_NOON)
    assert admission.flags == (
        StaffFlag.FREE_ENTRY,
        StaffFlag.OVER_CAPACITY,
        StaffFlag.ALREADY_INSIDE,
    )


@pytest.mark.parametrize(
    ("hours", "local", "is_open"),
    [
        (None, (2026, 12, 7, 3, 0), True),
        (OFFICE, (2026, 12, 7, 7, 59), False),
        (OFFICE, (2026, 12, 7, 8, 0), True),
        (OFFICE, (2026, 12, 7, 19, 59), True),
        (OFFICE, (2026, 12, 7, 20, 0), False),
        (OFFICE, (2026, 12, 12, 12, 0), False),  # Saturday
        (OpeningHours((None, NIGHT, None, None, None, None, None)), (2026, 12, 8, 19, 59), False),
        (OpeningHours((None, NIGHT, None, None, None, None, None)), (2026, 12, 8, 20, 0), True),
        (OpeningHours((NIGHT,) * 7), (2026, 12, 7, 23, 0), True),
        (OpeningHours((NIGHT,) * 7), (2026, 12, 8, 7, 59), True),
        (OpeningHours((NIGHT,) * 7), (2026, 12, 8, 12, 0), False),
        # Friday night runs on into Saturday morning, though Saturday itself is closed.
        (OpeningHours((None,) * 4 + (NIGHT, None, None)), (2026, 12, 12, 6, 0), True),
        (OpeningHours((None,) * 4 + (NIGHT, None, None)), (2026, 12, 12, 21, 0), False),
        (OpeningHours((ALL_DAY,) * 7), (2026, 12, 7, 0, 0), True),
        # Holidays: closed on New Year's Day, short hours the day after.
        (
            OpeningHours((ALL_DAY,) * 7, {date(2027, 1, 1): None}),
            (2027, 1, 1, 12, 0),
            False,
        ),
        (
            OpeningHours((None,) * 7, {date(2027, 1, 2): Span(time(10), time(14))}),
            (2027, 1, 2, 13, 59),
            True,
        ),
        (
            OpeningHours((None,) * 7, {date(2027, 1, 2): Span(time(10), time(14))}),
            (2027, 1, 2, 14, 0),
            False,
        ),
    ],
)
def test_opening_hours_in_local_time(
    hours: OpeningHours | None, local: tuple[int, int, int, int, int], is_open: bool
) -> None:
    rules = StationRules(capacity=10, hours=hours)
    assert open_at(rules, _at(*local)) is is_open
    expected = Reason.GRANTED if is_open else Reason.CLOSED_NOW
    assert admit(RIDER, rules, _at(*local)).reason is expected


def test_hours_follow_the_stations_time_zone() -> None:
    # 08:30 in Shanghai is 00:30 UTC: open in Shanghai, not yet open in a UTC station.
    now = _at(2026, 12, 7, 8, 30)
    assert open_at(StationRules(capacity=1, hours=OFFICE), now)
    assert not open_at(StationRules(capacity=1, hours=OFFICE, tz=ZoneInfo("UTC")), now)


def test_weekly_hours_need_seven_days() -> None:
    with pytest.raises(ValueError, match="seven days"):
        OpeningHours((DAY,) * 6)


def test_accepting_riders() -> None:
    night = _at(2026, 12, 7, 22, 0)
    assert accepting_riders(STATION, night)
    assert not accepting_riders(replace(STATION, hours=OFFICE), night)
    assert accepting_riders(replace(STATION, hours=OFFICE, emergency=Emergency.TYPHOON), night)
    assert not accepting_riders(replace(STATION, maintenance=True), MONDAY_NOON)
    assert not accepting_riders(
        replace(STATION, lockdown=True, emergency=Emergency.TYPHOON), MONDAY_NOON
    )
