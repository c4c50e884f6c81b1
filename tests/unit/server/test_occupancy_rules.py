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


def test_reconciliation_resets_the_count_once_in_the_local_quiet_hour() -> None:
    done = reconcile_quiet_hour(
        7, station_id="s-1", now=IN_QUIET_HOUR, quiet=QUIET, last_run_on=date(2026, 11, 30)
    )
    assert done == Reconciled(
        0,
        OccupancyChange(
            "s-1",
            7,
            0,
            IN_QUIET_HOUR,
            ChangeSource.QUIET_HOUR,
            QUIET_HOUR_ACTOR,
            "daily reconciliation at 04:00 Asia/Shanghai",
        ),
        date(2026, 12, 1),  # the local date, not the UTC one
    )
    assert done.change.changed
    # Later in the same hour, with people who came in since: left alone.
    assert (
        reconcile_quiet_hour(
            2,
            station_id="s-1",
            now=IN_QUIET_HOUR + timedelta(minutes=30),
            quiet=QUIET,
            last_run_on=done.run_on,
        )
        is None
    )


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
    now = local.replace(tzinfo=LOCAL_TZ)
    result = reconcile_quiet_hour(3, station_id="s-1", now=now, quiet=QUIET, last_run_on=None)
    assert (result is not None) == runs


def test_reconciliation_to_a_known_count_and_unchanged_counts_are_still_recorded() -> None:
    kept = reconcile_quiet_hour(
        2, station_id="s-1", now=IN_QUIET_HOUR, quiet=QUIET, last_run_on=None, expected=2
    )
    assert kept is not None
    assert (kept.count, kept.change.changed) == (2, False)
    negative = reconcile_quiet_hour(
        2, station_id="s-1", now=IN_QUIET_HOUR, quiet=QUIET, last_run_on=None, expected=-3
    )
    assert negative is not None
    assert negative.count == 0


def test_reconciliation_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="time zone"):
        reconcile_quiet_hour(
            1, station_id="s-1", now=datetime(2026, 12, 1, 4, 20), quiet=QUIET, last_run_on=None
        )


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
