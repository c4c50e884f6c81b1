from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.payloads import EventKind, Passage
from server.core.localtime import LOCAL_TZ
from server.events import occupancy
from server.events.occupancy import (
    QUIET_HOUR_ACTOR,
    ChangeSource,
    CorrectionError,
    OccupancyChange,
    Outcome,
    QuietHour,
    Reconciled,
    correct,
    reconcile_quiet_hour,
)

QUIET = QuietHour(hour=4, tz=LOCAL_TZ)
# 04:20 in Shanghai on 1 Dec is 20:20 UTC on 30 Nov.
IN_QUIET_HOUR = datetime(2026, 12, 1, 4, 20, tzinfo=LOCAL_TZ).astimezone(UTC)


@given(
    st.lists(st.tuples(st.sampled_from(EventKind), st.sampled_from([*Passage, None])), max_size=80)
)
def test_occupancy_never_goes_negative_and_counts_entries_minus_exits(
    events: list[tuple[EventKind, Passage | None]],
) -> None:
    count = 0
    for kind, passage in events:
        after = occupancy.apply(count, kind, passage)
        assert after >= 0
        if kind is EventKind.DOOR_OPENED and passage is Passage.ENTRY:
            assert after == count + 1
        elif kind is EventKind.DOOR_OPENED and passage is Passage.EXIT:
            assert after == max(0, count - 1)
        else:
            assert after == count
        count = after


def _night(
    count: int,
    *,
    now: datetime = IN_QUIET_HOUR,
    open_now: bool = False,
    door_quiet_for: timedelta | None = timedelta(hours=5),
    last_run_on: date | None = date(2026, 11, 30),
) -> Reconciled | None:
    return reconcile_quiet_hour(
        count,
        station_id="s-1",
        now=now,
        quiet=QUIET,
        last_run_on=last_run_on,
        open_now=open_now,
        last_door_at=None if door_quiet_for is None else now - door_quiet_for,
    )


def test_a_closed_station_with_a_quiet_door_is_set_to_zero_once_a_local_night() -> None:
    done = _night(7)
    assert done == Reconciled(
        0,
        Outcome.CORRECTED,
        date(2026, 12, 1),  # the local date, not the UTC one
        OccupancyChange(
            "s-1",
            7,
            0,
            IN_QUIET_HOUR,
            ChangeSource.QUIET_HOUR,
            QUIET_HOUR_ACTOR,
            "closed at 04:20, door quiet for at least 3:00:00",
            {"closed": True, "door_quiet_h": 5.0, "door_quiet_min_h": 3.0},
        ),
    )
    assert done.change is not None
    assert done.change.changed
    # Later in the same hour, with people who came in since: left alone.
    later = _night(2, now=IN_QUIET_HOUR + timedelta(minutes=30), last_run_on=done.run_on)
    assert later is None


def test_a_door_that_never_reported_counts_as_quiet() -> None:
    done = _night(2, door_quiet_for=None)
    assert done is not None
    assert done.change is not None
    assert done.change.evidence["door_quiet_h"] is None
    assert done.count == 0


@pytest.mark.parametrize("count", [1, 3, 40])
def test_a_station_open_at_the_quiet_hour_is_never_zeroed(count: int) -> None:
    """A 24-hour station (or one open at night) with people inside: they are asleep, and a
    quiet door is what that looks like. The count stays; nothing is stored."""
    for quiet_for in (timedelta(hours=20), None, timedelta(minutes=1)):
        kept = _night(count, open_now=True, door_quiet_for=quiet_for)
        assert kept == Reconciled(count, Outcome.OPEN_NOW, date(2026, 12, 1))


def test_a_closed_station_whose_door_was_used_lately_is_kept() -> None:
    kept = _night(3, door_quiet_for=timedelta(hours=2, minutes=59))
    assert kept == Reconciled(3, Outcome.DOOR_USED, date(2026, 12, 1))
    just_enough = _night(3, door_quiet_for=QUIET.door_quiet)
    assert just_enough is not None
    assert just_enough.outcome is Outcome.CORRECTED


def test_the_quiet_door_needed_is_a_setting() -> None:
    strict = QuietHour(hour=4, tz=LOCAL_TZ, door_quiet=timedelta(hours=8))
    result = reconcile_quiet_hour(
        3,
        station_id="s-1",
        now=IN_QUIET_HOUR,
        quiet=strict,
        last_run_on=None,
        open_now=False,
        last_door_at=IN_QUIET_HOUR - timedelta(hours=5),
    )
    assert result is not None
    assert result.outcome is Outcome.DOOR_USED


def test_an_empty_station_needs_no_correction() -> None:
    assert _night(0) == Reconciled(0, Outcome.ALREADY_EMPTY, date(2026, 12, 1))


@pytest.mark.parametrize(
    ("local", "runs"),
    [
        (datetime(2026, 12, 1, 3, 59, 59), False),
        (datetime(2026, 12, 1, 4, 0), True),
        (datetime(2026, 12, 1, 4, 59, 59), True),
        (datetime(2026, 12, 1, 5, 0), False),
        (datetime(2026, 12, 1, 16, 0), False),  # a job that missed the night waits for the next
    ],
)
def test_reconciliation_only_inside_the_quiet_hour(local: datetime, runs: bool) -> None:
    result = _night(3, now=local.replace(tzinfo=LOCAL_TZ), last_run_on=None)
    assert (result is not None) == runs


@given(
    count=st.integers(0, 500),
    open_now=st.booleans(),
    quiet_min=st.one_of(st.none(), st.integers(0, 48 * 60)),
)
def test_the_count_is_only_ever_lowered_to_zero_with_evidence(
    count: int, open_now: bool, quiet_min: int | None
) -> None:
    quiet_for = None if quiet_min is None else timedelta(minutes=quiet_min)
    result = _night(count, open_now=open_now, door_quiet_for=quiet_for)
    assert result is not None
    if result.count != count:
        assert result.count == 0
        assert count > 0
        assert not open_now
        assert quiet_for is None or quiet_for >= QUIET.door_quiet
        assert result.change is not None
        assert result.change.evidence["closed"] is True
    else:
        assert result.change is None


def test_reconciliation_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="time zone"):
        _night(1, now=datetime(2026, 12, 1, 4, 20))


def test_staff_correction_is_audited() -> None:
    at = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    change = correct(9, station_id="s-1", target=3, by=" staff-li ", reason=" counted ", at=at)
    assert change == OccupancyChange("s-1", 9, 3, at, ChangeSource.STAFF, "staff-li", "counted")


@pytest.mark.parametrize(
    ("target", "by", "reason", "error"),
    [
        (-1, "staff-li", "counted", CorrectionError.NEGATIVE_TARGET),
        (2, "", "counted", CorrectionError.NO_STAFF),
        (2, "  ", "counted", CorrectionError.NO_STAFF),
        (2, "staff-li", "", CorrectionError.EMPTY_REASON),
        (2, "staff-li", " \n\t", CorrectionError.EMPTY_REASON),
        (-5, "", "", CorrectionError.NEGATIVE_TARGET),
    ],
)
def test_bad_corrections_are_refused_with_a_value(
    target: int, by: str, reason: str, error: CorrectionError
) -> None:
    at = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert correct(4, station_id="s-1", target=target, by=by, reason=reason, at=at) is error


@given(st.integers(0, 500), st.integers(-500, 500), st.text(max_size=5), st.text(max_size=5))
def test_a_correction_never_leaves_a_negative_count(
    count: int, target: int, by: str, reason: str
) -> None:
    at = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    result = correct(count, station_id="s-1", target=target, by=by, reason=reason, at=at)
    if isinstance(result, OccupancyChange):
        assert result.after == target >= 0
        assert result.by
        assert result.reason
    else:
        assert target < 0 or not by.strip() or not reason.strip()
