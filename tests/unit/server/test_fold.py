"""The pure side of storing events: how a stream's mark moves (gaps, duplicates, the
station's floor) and what a batch of applied events does to stations and stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.events.fold import (
    MAX_MISSING_RANGES,
    AlarmChange,
    Mark,
    OpenStay,
    Pending,
    StationState,
    advance,
    fold,
)

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def _event(seq: int, kind: str = "door_closed", *, station: str = "a", **fields: object) -> Pending:
    return Pending(
        event_id=f"{station}-{seq}",
        station_id=station,
        seq=seq,
        kind=kind,
        occurred_at=T0 + timedelta(seconds=seq),
        **fields,  # type: ignore[arg-type]
    )


def test_the_mark_moves_over_contiguous_events_and_applies_each_once() -> None:
    stored = [_event(1), _event(2, applied=True), _event(3)]
    result = advance(Mark(0, 0), stored, acked=[1, 2, 3])
    assert result.mark == Mark(3, 3)
    assert [p.seq for p in result.to_apply] == [1, 3]  # 2 was applied before
    assert result.missing == []


def test_a_gap_stops_the_mark_and_is_reported() -> None:
    result = advance(Mark(0, 0), [_event(1), _event(4), _event(7)], acked=[1, 4, 7])
    assert result.mark == Mark(1, 7)
    assert [p.seq for p in result.to_apply] == [1]
    assert result.missing == [(2, 3), (5, 6)]


def test_missing_ranges_are_capped() -> None:
    stored = [_event(seq) for seq in range(2, 400, 2)]
    result = advance(Mark(0, 0), stored)
    assert len(result.missing) == MAX_MISSING_RANGES
    assert result.mark.contiguous_through == 0


def test_the_stations_floor_moves_the_mark_over_a_gap_that_will_never_fill() -> None:
    stored = [_event(3, "door_opened", passage="entry"), _event(5)]
    result = advance(Mark(0, 0), stored, floor=4)
    assert result.mark == Mark(3, 3)
    assert [p.seq for p in result.to_apply] == [3]
    assert result.missing == [(4, 4)]


def test_a_floor_at_or_below_the_mark_changes_nothing() -> None:
    result = advance(Mark(5, 5), [_event(6)], acked=[6], floor=3)
    assert result.mark == Mark(6, 6)
    assert [p.seq for p in result.to_apply] == [6]


def test_entries_and_exits_count_and_stays_open_and_end() -> None:
    events = [
        _event(1, "door_opened", passage="entry", rider_id="r1"),
        _event(2),
        _event(3, "door_opened", passage="exit"),
        _event(4),
    ]
    effects = fold({"a": StationState(0, "locked")}, [], events)
    assert effects.stations["a"] == StationState(0, "closed")
    assert effects.applied == ["a-1", "a-2", "a-3", "a-4"]
    # The stay opened and, when the count reached zero, ended.
    [(stay, ended_at)] = effects.stays_new
    assert (stay.station_id, stay.rider_id) == ("a", "r1")
    assert stay.entered_at == T0 + timedelta(seconds=1)
    assert ended_at == T0 + timedelta(seconds=3)


def test_a_rider_entering_elsewhere_leaves_the_stay_before() -> None:
    before = OpenStay(7, "b", "r1", T0 - timedelta(hours=1))
    someone_else = OpenStay(8, "b", "r2", T0 - timedelta(hours=1))
    effects = fold(
        {"a": StationState(2, "closed"), "b": StationState(5, "closed")},
        [before, someone_else],
        [_event(1, "door_opened", passage="entry", rider_id="r1")],
    )
    assert effects.stays_ended == {7: T0 + timedelta(seconds=1)}
    assert effects.stations == {"a": StationState(3, "open")}
    assert effects.stays_new[0][1] is None  # still inside


def test_the_count_never_goes_below_zero_and_an_empty_station_ends_every_stay() -> None:
    inside = OpenStay(3, "a", "r9", T0 - timedelta(hours=2))
    effects = fold(
        {"a": StationState(0, "closed")}, [inside], [_event(1, "door_opened", passage="exit")]
    )
    assert effects.stations["a"].occupancy == 0
    assert effects.stays_ended == {3: T0 + timedelta(seconds=1)}


def test_alarms_commands_and_door_phase_in_event_order() -> None:
    events = [
        _event(1, "alarm_raised", alarm="forced_open", detail="no unlock"),
        _event(2, "alarm_cleared", alarm="forced_open"),
        _event(3, "command_done", command_id="c1", detail="unlocked"),
    ]
    effects = fold({"a": StationState(1, "closed")}, [], events)
    assert effects.alarms == [
        AlarmChange(True, "a", "forced_open", T0 + timedelta(seconds=1), "no unlock"),
        AlarmChange(False, "a", "forced_open", T0 + timedelta(seconds=2)),
    ]
    assert effects.stations["a"].door_phase == "forced_open"
    [outcome] = effects.commands
    assert (outcome.action, outcome.detail) == ("command_done", "command c1: unlocked")


def test_the_inputs_are_not_changed() -> None:
    stations = {"a": StationState(1, "closed")}
    fold(stations, [], [_event(1, "door_opened", passage="entry")])
    assert stations == {"a": StationState(1, "closed")}


def test_an_event_of_a_station_not_given_is_refused() -> None:
    with pytest.raises(KeyError):
        fold({}, [], [_event(1)])
